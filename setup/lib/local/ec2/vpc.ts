// EC2 resources the emulator's CloudFormation cannot delete.
import {
  DeleteInternetGatewayCommand,
  DeleteRouteTableCommand,
  DescribeInternetGatewaysCommand,
  DescribeRouteTablesCommand,
  DetachInternetGatewayCommand,
  type EC2Client,
} from "@aws-sdk/client-ec2";

/**
 * moto deletes a stack's VPC, subnets and security groups but not its
 * internet gateway attachment, internet gateway or route tables (those types
 * have no delete in its CloudFormation), so the VPC "has dependencies" and the
 * stack delete fails. This removes them first. Returns what it removed.
 */
export async function releaseVpcForDelete(ec2: EC2Client, vpcId: string): Promise<string[]> {
  const removed: string[] = [];
  const gateways = await ec2.send(
    new DescribeInternetGatewaysCommand({ Filters: [{ Name: "attachment.vpc-id", Values: [vpcId] }] }),
  );
  for (const gateway of gateways.InternetGateways ?? []) {
    const id = gateway.InternetGatewayId as string;
    await ec2.send(new DetachInternetGatewayCommand({ InternetGatewayId: id, VpcId: vpcId }));
    await ec2.send(new DeleteInternetGatewayCommand({ InternetGatewayId: id }));
    removed.push(id);
  }
  const tables = await ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: "vpc-id", Values: [vpcId] }] }));
  for (const table of tables.RouteTables ?? []) {
    if (table.Associations?.some((a) => a.Main)) continue; // the VPC's own main table goes with it
    await ec2.send(new DeleteRouteTableCommand({ RouteTableId: table.RouteTableId }));
    removed.push(table.RouteTableId as string);
  }
  return removed;
}
