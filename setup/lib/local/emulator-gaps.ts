// What the emulator cannot do, done directly so the local rehearsal behaves
// as AWS does: resources its CloudFormation skips or cannot delete, and the
// data plane its ECR lacks. Real AWS needs none of this. The other gaps are
// handled beside the code they concern:
//   - its CloudFormation skips AWS::CodePipeline::Pipeline and
//     AWS::CodeBuild::Project: pipeline-definition.ts renders them from the
//     template and stores them in its CodePipeline and CodeBuild (which also
//     insist on a source location CODEPIPELINE projects do not have);
//   - its GetTemplate answers with unescaped XML: the template file is read instead;
//   - its CodePipeline answers with ISO timestamps where AWS sends epoch
//     seconds: setup/lib/aws/clients.ts rewrites them for emulator endpoints;
//   - it runs no pipeline, build, registry or service: codepipeline.ts,
//     codebuild.ts, registry.ts and the app container (rehearsal.ts) do;
//   - its CloudFormation accepts parameters a template does not declare:
//     pipeline-actions.ts checks them as CloudFormation does;
//   - its load balancer forwards no traffic: load-balancer.ts runs HAProxy from
//     the listener and target group. One difference stays: with no healthy
//     target HAProxy answers 503, where the ALB "fails open" to every target.
import {
  DeleteInternetGatewayCommand,
  DeleteRouteTableCommand,
  DescribeInternetGatewaysCommand,
  DescribeRouteTablesCommand,
  DetachInternetGatewayCommand,
  type EC2Client,
} from "@aws-sdk/client-ec2";
import { BatchDeleteImageCommand, type ECRClient, paginateDescribeImages, PutImageCommand } from "@aws-sdk/client-ecr";
import { DeleteBucketCommand, type S3Client } from "@aws-sdk/client-s3";
import { deleteRegistryImages, registryManifest, registryTags } from "./registry.ts";

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

/**
 * The emulator's CloudFormation reports the bucket stack deleted but keeps the
 * (empty) bucket. Returns whether there was one to delete.
 */
export async function deleteBucketLeftBehind(s3: S3Client, bucket: string): Promise<boolean> {
  try {
    await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
    return true;
  } catch (error) {
    if ((error as Error).name === "NoSuchBucket") return false;
    throw error;
  }
}

async function ecrTags(ecr: ECRClient, repositoryName: string): Promise<Set<string>> {
  const tags = new Set<string>();
  for await (const page of paginateDescribeImages({ client: ecr }, { repositoryName })) {
    for (const image of page.imageDetails ?? []) for (const tag of image.imageTags ?? []) tags.add(tag);
  }
  return tags;
}

/**
 * Before a build: the registry and the emulator's ECR must hold the same
 * images, as ECR's API and registry are one service on AWS. The registry's
 * store outlives an emulator (a rehearsal that was not torn down, a new
 * emulator), so its images ECR does not list are deleted; an image ECR lists
 * whose layers the registry lost is deleted from ECR, so the build pushes it
 * again instead of deploying an image no task could pull. Returns what it dropped.
 */
export async function reconcileRegistryWithEcr(
  ecr: ECRClient,
  registry: string,
  repositoryName: string,
): Promise<string[]> {
  const inEcr = await ecrTags(ecr, repositoryName);
  const inRegistry = new Set(await registryTags(registry, repositoryName));
  const dropped: string[] = [];
  const stale = [...inRegistry].filter((tag) => !inEcr.has(tag));
  if (stale.length > 0) {
    await deleteRegistryImages(registry, repositoryName, stale);
    dropped.push(...stale.map((tag) => `registry ${repositoryName}:${tag}`));
  }
  const lost = [...inEcr].filter((tag) => !inRegistry.has(tag));
  if (lost.length > 0) {
    await ecr.send(new BatchDeleteImageCommand({ repositoryName, imageIds: lost.map((imageTag) => ({ imageTag })) }));
    dropped.push(...lost.map((tag) => `ECR ${repositoryName}:${tag}`));
  }
  return dropped;
}

/**
 * ECR's data plane: the emulator's ECR keeps repositories and image records
 * but has no registry to push to, so the build pushes to the local registry
 * (registry.ts) and this copies each pushed tag's manifest into the
 * emulator's repository (PutImage), where DescribeImages, the build's
 * "already pushed" check, the lesson checks and teardown see it, as they
 * would see a push to ECR. Returns the tags it added.
 */
export async function mirrorRegistryToEcr(ecr: ECRClient, registry: string, repositoryName: string): Promise<string[]> {
  const known = await ecrTags(ecr, repositoryName);
  const added: string[] = [];
  for (const tag of await registryTags(registry, repositoryName)) {
    if (known.has(tag)) continue;
    const { manifest, mediaType } = await registryManifest(registry, repositoryName, tag);
    await ecr.send(
      new PutImageCommand({
        repositoryName,
        imageTag: tag,
        imageManifest: manifest,
        ...(mediaType ? { imageManifestMediaType: mediaType } : {}),
      }),
    );
    added.push(tag);
  }
  return added;
}
