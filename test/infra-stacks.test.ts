// bucket.yaml → environment.yaml → service.yaml deployed to the emulator in
// order, what each promises checked through the SDK, then all deleted and
// checked gone. Settings the emulator's CloudFormation does not apply are
// checked as written in test/templates.test.ts.
import { CloudFormationClient, ListExportsCommand } from "@aws-sdk/client-cloudformation";
import { CloudWatchLogsClient, DescribeLogGroupsCommand } from "@aws-sdk/client-cloudwatch-logs";
import {
  DescribeInternetGatewaysCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  EC2Client,
} from "@aws-sdk/client-ec2";
import {
  DescribeClustersCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
} from "@aws-sdk/client-ecs";
import {
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeRulesCommand,
  DescribeTargetGroupsCommand,
  ElasticLoadBalancingV2Client,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { IAMClient, ListRolesCommand } from "@aws-sdk/client-iam";
import {
  GetBucketEncryptionCommand,
  GetBucketOwnershipControlsCommand,
  GetBucketTaggingCommand,
  GetBucketVersioningCommand,
  GetPublicAccessBlockCommand,
  HeadBucketCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { beforeAll, describe, expect, it } from "vitest";
import { useEmulator } from "../lessons/support/emulator.ts";
import { emptyBucket } from "../setup/lib/aws/cleanup.ts";
import {
  PREFIX_TAG,
  prefixTags,
  STACK_CAPABILITIES,
  type StackRole,
  stackName,
  templateFile,
} from "../setup/lib/aws/naming.ts";
import { type DeployResult, deleteStack, deployStack, describeStack } from "../setup/lib/aws/stacks.ts";
import { releaseVpcForDelete } from "../setup/lib/local/ec2/vpc.ts";
import { directOperations } from "../setup/lib/local/cloudformation/direct.ts";
import { emulatorClient } from "../setup/lib/local/emulator/clients.ts";

const fixture = useEmulator();
const prefix = "lab-infra";
// The emulator records no outputs or exports for change sets (see setup/lib/local/cloudformation/direct.ts).
const fast = { pollSeconds: 1, maxWaitSeconds: 60, operations: directOperations };
const imageUri = `123456789012.dkr.ecr.us-east-1.amazonaws.com/${prefix}-app:1a2b3c4d5e`;

let cfn: CloudFormationClient;
let ec2: EC2Client;
let elb: ElasticLoadBalancingV2Client;
let ecs: ECSClient;
const deployed: Partial<Record<StackRole, DeployResult>> = {};

function deploy(role: StackRole, parameters: Record<string, string> = {}): Promise<DeployResult> {
  return deployStack(
    cfn,
    {
      name: stackName(prefix, role),
      templateFile: templateFile(role),
      parameters: { Prefix: prefix, ...parameters },
      tags: prefixTags(prefix),
      capabilities: STACK_CAPABILITIES[role],
    },
    fast,
  );
}

beforeAll(() => {
  cfn = emulatorClient(CloudFormationClient, fixture.config.aws);
  ec2 = emulatorClient(EC2Client, fixture.config.aws);
  elb = emulatorClient(ElasticLoadBalancingV2Client, fixture.config.aws);
  ecs = emulatorClient(ECSClient, fixture.config.aws);
});

describe("bucket.yaml", () => {
  it("creates the encrypted, tagged artifact bucket and exports its name", async () => {
    const result = await deploy("bucket");
    deployed.bucket = result;
    const s3 = emulatorClient(S3Client, fixture.config.aws);
    const bucket = result.outputs.BucketName as string;

    expect(result.action).toBe("created");
    expect(bucket).toBe(`${prefix}-artifacts-123456789012-us-east-1`);
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    const sse = await s3.send(new GetBucketEncryptionCommand({ Bucket: bucket }));
    expect(sse.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm).toBe(
      "AES256",
    );
    const tags = await s3.send(new GetBucketTaggingCommand({ Bucket: bucket })).catch(() => ({ TagSet: [] }));
    // moto copies only the template's own Tags to a bucket, not the stack's; the stack carries the tag.
    const stack = await describeStack(cfn, stackName(prefix, "bucket"));
    expect([...(tags.TagSet ?? []), ...(stack?.Tags ?? [])]).toContainEqual({ Key: PREFIX_TAG, Value: prefix });
  });

  it("is versioned and private as the template says (the rehearsal applies what the emulator's CloudFormation skips)", async () => {
    const s3 = emulatorClient(S3Client, fixture.config.aws);
    const bucket = deployed.bucket?.outputs.BucketName as string;
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status).toBe("Enabled");
    expect((await s3.send(new GetPublicAccessBlockCommand({ Bucket: bucket }))).PublicAccessBlockConfiguration).toEqual(
      {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
    );
    const ownership = await s3.send(new GetBucketOwnershipControlsCommand({ Bucket: bucket }));
    expect(ownership.OwnershipControls?.Rules).toEqual([{ ObjectOwnership: "BucketOwnerEnforced" }]);
    // So every upload is a new object version, as lesson 02 says.
    const first = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "probe", Body: "1" }));
    const second = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "probe", Body: "2" }));
    expect(first.VersionId).toMatch(/\S/);
    expect(second.VersionId).not.toBe(first.VersionId);
    expect(first.VersionId).not.toBe("null");
    expect(await emptyBucket(s3, bucket)).toBe(2); // both versions: the stack is deleted below
  });

  it("is unchanged when deployed again", async () => {
    expect((await deploy("bucket")).action).toBe("unchanged");
  });
});

describe("environment.yaml", () => {
  it("creates a VPC with two public subnets in two zones, routed through an internet gateway", async () => {
    const result = await deploy("environment", { ZoneA: "us-east-1a", ZoneB: "us-east-1b" });
    deployed.environment = result;
    const { VpcId, PublicSubnets } = result.outputs;

    const vpc = (await ec2.send(new DescribeVpcsCommand({ VpcIds: [VpcId as string] }))).Vpcs?.[0];
    expect(vpc?.CidrBlock).toBe("10.40.0.0/16");
    const subnets =
      (await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: "vpc-id", Values: [VpcId as string] }] })))
        .Subnets ?? [];
    expect(subnets.map((s) => s.SubnetId).sort()).toEqual(PublicSubnets?.split(",").sort());
    expect(subnets.map((s) => s.CidrBlock).sort()).toEqual(["10.40.0.0/24", "10.40.1.0/24"]);
    expect(subnets.map((s) => s.AvailabilityZone).sort()).toEqual(["us-east-1a", "us-east-1b"]);

    const igw =
      (
        await ec2.send(
          new DescribeInternetGatewaysCommand({ Filters: [{ Name: "attachment.vpc-id", Values: [VpcId as string] }] }),
        )
      ).InternetGateways ?? [];
    expect(igw).toHaveLength(1);
    const tables =
      (await ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: "vpc-id", Values: [VpcId as string] }] })))
        .RouteTables ?? [];
    const routes = tables.flatMap((t) => t.Routes ?? []);
    expect(routes).toContainEqual(
      expect.objectContaining({ DestinationCidrBlock: "0.0.0.0/0", GatewayId: igw[0]?.InternetGatewayId }),
    );
    // Subnet-to-route-table associations are not reported by the emulator; checked as written.
  });

  it("lets the internet reach the load balancer on port 80, and only the load balancer reach the tasks", async () => {
    const { VpcId, TaskSecurityGroupId, ListenerArn } = deployed.environment?.outputs ?? {};
    const listener = (await elb.send(new DescribeListenersCommand({ ListenerArns: [ListenerArn as string] })))
      .Listeners?.[0];
    const lb = (
      await elb.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [listener?.LoadBalancerArn as string] }))
    ).LoadBalancers?.[0];
    const groups =
      (await ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: "vpc-id", Values: [VpcId as string] }] })))
        .SecurityGroups ?? [];
    const albGroupId = lb?.SecurityGroups?.[0];
    const alb = groups.find((g) => g.GroupId === albGroupId);
    const task = groups.find((g) => g.GroupId === TaskSecurityGroupId);
    expect(lb?.SecurityGroups).toHaveLength(1);
    expect(alb?.IpPermissions).toEqual([
      expect.objectContaining({
        FromPort: 80,
        ToPort: 80,
        IpRanges: [expect.objectContaining({ CidrIp: "0.0.0.0/0" })],
      }),
    ]);
    expect(task?.IpPermissions).toHaveLength(1);
    expect(task?.IpPermissions?.[0]).toMatchObject({ FromPort: 8080, ToPort: 8080, IpRanges: [] });
    expect(task?.IpPermissions?.[0]?.UserIdGroupPairs?.map((p) => p.GroupId)).toEqual([albGroupId]);
  });

  it("creates an internet-facing ALB whose HTTP listener answers 'no version deployed yet', and the cluster", async () => {
    const { ListenerArn, AppUrl, ClusterName } = deployed.environment?.outputs ?? {};
    const listener = (await elb.send(new DescribeListenersCommand({ ListenerArns: [ListenerArn as string] })))
      .Listeners?.[0];
    expect(listener).toMatchObject({ Port: 80, Protocol: "HTTP" });
    expect(listener?.DefaultActions?.[0]).toMatchObject({
      Type: "fixed-response",
      FixedResponseConfig: { StatusCode: "503", ContentType: "application/json" },
    });
    expect(JSON.parse(listener?.DefaultActions?.[0]?.FixedResponseConfig?.MessageBody ?? "{}")).toMatchObject({
      error: "not_deployed",
    });

    const lb = (
      await elb.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [listener?.LoadBalancerArn as string] }))
    ).LoadBalancers?.[0];
    expect(lb).toMatchObject({ LoadBalancerName: `${prefix}-alb`, Scheme: "internet-facing", Type: "application" });
    expect(AppUrl).toBe(`http://${lb?.DNSName}`);

    const cluster = (await ecs.send(new DescribeClustersCommand({ clusters: [ClusterName as string] }))).clusters?.[0];
    expect(cluster).toMatchObject({ clusterName: `${prefix}-cluster`, status: "ACTIVE" });
  });

  it("exports everything the service stack imports", async () => {
    const names = ((await cfn.send(new ListExportsCommand({}))).Exports ?? []).map((e) => e.Name);
    for (const name of ["VpcId", "PublicSubnets", "TaskSecurityGroupId", "ListenerArn", "ClusterName", "AppUrl"]) {
      expect(names).toContain(`${prefix}-${name}`);
    }
  });
});

describe("service.yaml", () => {
  it("creates the target group with a fast /health check", async () => {
    const result = await deploy("service", { ImageUri: imageUri });
    deployed.service = result;
    const tg = (
      await elb.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [result.outputs.TargetGroupArn as string] }))
    ).TargetGroups?.[0];
    expect(tg).toMatchObject({
      Protocol: "HTTP",
      Port: 8080,
      TargetType: "ip",
      VpcId: deployed.environment?.outputs.VpcId,
      HealthCheckPath: "/health",
      HealthCheckIntervalSeconds: 5,
      HealthCheckTimeoutSeconds: 2,
      HealthyThresholdCount: 2,
      UnhealthyThresholdCount: 2,
    });
  });

  it("adds a listener rule that forwards every path to the target group", async () => {
    const rules =
      (await elb.send(new DescribeRulesCommand({ ListenerArn: deployed.environment?.outputs.ListenerArn }))).Rules ??
      [];
    const rule = rules.find((r) => r.Priority === "1");
    expect(rule?.Actions?.[0]).toMatchObject({
      Type: "forward",
      TargetGroupArn: deployed.service?.outputs.TargetGroupArn,
    });
    expect(JSON.stringify(rule?.Conditions)).toContain("/*");
  });

  it("creates the ECS service with two tasks in the environment's cluster", async () => {
    // The emulator's CloudFormation keeps only name, cluster, task definition and
    // count of a service; launch type, load balancer and deployment settings are
    // checked as written in test/templates.test.ts.
    const cluster = deployed.environment?.outputs.ClusterName as string;
    const service = (await ecs.send(new DescribeServicesCommand({ cluster, services: [`${prefix}-app`] })))
      .services?.[0];
    expect(service).toMatchObject({ serviceName: `${prefix}-app`, desiredCount: 2, status: "ACTIVE" });
    expect(service?.taskDefinition).toBe(deployed.service?.outputs.TaskDefinitionArn);
    expect(deployed.service?.outputs.ServiceName).toBe(`${prefix}-app`);
  });

  it("defines the task: the image, 512 MiB, read-only root, logs to its own group, secret not in plain environment", async () => {
    const { taskDefinition } = await ecs.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: deployed.service?.outputs.TaskDefinitionArn }),
    );
    // The emulator keeps family, memory and containers; CPU, network mode and roles are checked as written.
    expect(taskDefinition).toMatchObject({ family: `${prefix}-app`, memory: "512" });
    const container = taskDefinition?.containerDefinitions?.[0];
    expect(container).toMatchObject({ name: "app", image: imageUri, readonlyRootFilesystem: true, essential: true });
    expect(container?.portMappings).toEqual([expect.objectContaining({ containerPort: 8080 })]);
    expect(container?.logConfiguration).toMatchObject({
      logDriver: "awslogs",
      options: { "awslogs-group": `/aws-cicd-lab/${prefix}/app`, "awslogs-stream-prefix": "app" },
    });
    expect(container?.environment?.map((e) => e.name).sort()).toEqual(["LOG_LEVEL", "PORT"]);
    // The emulator skips AWS::SecretsManager::Secret, so ValueFrom (a Ref to it) is dropped; the name is still wired.
    expect(container?.secrets?.map((s) => s.name)).toEqual(["JWT_SECRET"]);

    const iam = emulatorClient(IAMClient, fixture.config.aws);
    const roles = (await iam.send(new ListRolesCommand({}))).Roles ?? [];
    const role = roles.find((r) => r.RoleName?.startsWith(`${stackName(prefix, "service")}-ExecutionRole`));
    expect(decodeURIComponent(role?.AssumeRolePolicyDocument ?? "")).toContain("ecs-tasks.amazonaws.com");

    const logs = emulatorClient(CloudWatchLogsClient, fixture.config.aws);
    const groups =
      (await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: `/aws-cicd-lab/${prefix}/` }))).logGroups ??
      [];
    expect(groups).toEqual([
      expect.objectContaining({ logGroupName: `/aws-cicd-lab/${prefix}/app`, retentionInDays: 3 }),
    ]);
  });
});

describe("deleting the stacks", () => {
  it("removes service, environment and bucket, and they are gone", async () => {
    for (const role of ["service", "environment", "bucket"] as const) {
      if (role === "environment") await releaseVpcForDelete(ec2, deployed.environment?.outputs.VpcId as string);
      expect(await deleteStack(cfn, stackName(prefix, role), fast)).toBe(true);
      expect(await describeStack(cfn, stackName(prefix, role))).toBeUndefined();
    }
    const vpcId = deployed.environment?.outputs.VpcId as string;
    await expect(ec2.send(new DescribeVpcsCommand({ VpcIds: [vpcId] }))).rejects.toThrow(/does not exist|NotFound/);
    const logs = emulatorClient(CloudWatchLogsClient, fixture.config.aws);
    const groups = await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: `/aws-cicd-lab/${prefix}/` }));
    expect(groups.logGroups).toEqual([]);
    const iam = emulatorClient(IAMClient, fixture.config.aws);
    const roles = (await iam.send(new ListRolesCommand({}))).Roles ?? [];
    expect(roles.filter((r) => r.RoleName?.startsWith(prefix))).toEqual([]);
    // The emulator's CloudFormation has no delete for ECS clusters, task
    // definitions, load balancers and target groups, so it leaves them behind;
    // real CloudFormation removes them, and teardown's tag scan checks on AWS.
  });

  it("is a success when there is nothing left to delete", async () => {
    expect(await deleteStack(cfn, stackName(prefix, "service"), fast)).toBe(false);
  });
});
