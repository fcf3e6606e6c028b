// Ownership before destruction: a CodeCommit repository, ECR repository or
// bucket is this run's only when it carries the prefix tag. One with the
// right name but not the tag belongs to someone else: it is never seeded
// into, emptied or deleted.
import { type CodeCommitClient, GetRepositoryCommand, ListTagsForResourceCommand } from "@aws-sdk/client-codecommit";
import {
  DescribeRepositoriesCommand,
  type ECRClient,
  ListTagsForResourceCommand as ListEcrTagsCommand,
} from "@aws-sdk/client-ecr";
import { GetBucketTaggingCommand, type S3Client } from "@aws-sdk/client-s3";
import { ConfigError, isAwsError, isEndpointMissing } from "../errors.ts";
import type { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import { PREFIX_TAG, STACK_ROLES, stackName } from "./naming.ts";
import { stacksNotOurs } from "./stacks.ts";

export type Ownership = "ours" | "absent" | "foreign";

function judge(tags: ReadonlyArray<{ key?: string; value?: string }>, prefix: string): Ownership {
  return tags.some((t) => t.key === PREFIX_TAG && t.value === prefix) ? "ours" : "foreign";
}

export async function codeCommitOwnership(cc: CodeCommitClient, name: string, prefix: string): Promise<Ownership> {
  let arn: string | undefined;
  try {
    arn = (await cc.send(new GetRepositoryCommand({ repositoryName: name }))).repositoryMetadata?.Arn;
  } catch (error) {
    // A region without CodeCommit has none of its repositories.
    if (isAwsError(error, "RepositoryDoesNotExistException") || isEndpointMissing(error)) return "absent";
    throw error;
  }
  if (!arn) return "foreign";
  const { tags } = await cc.send(new ListTagsForResourceCommand({ resourceArn: arn }));
  return judge(
    Object.entries(tags ?? {}).map(([key, value]) => ({ key, value })),
    prefix,
  );
}

export async function ecrOwnership(ecr: ECRClient, name: string, prefix: string): Promise<Ownership> {
  let arn: string | undefined;
  try {
    arn = (await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [name] }))).repositories?.[0]
      ?.repositoryArn;
  } catch (error) {
    if (isAwsError(error, "RepositoryNotFoundException")) return "absent";
    throw error;
  }
  if (!arn) return "absent";
  const { tags } = await ecr.send(new ListEcrTagsCommand({ resourceArn: arn }));
  return judge(
    (tags ?? []).map((t) => ({ key: t.Key, value: t.Value })),
    prefix,
  );
}

export async function bucketOwnership(s3: S3Client, bucket: string, prefix: string): Promise<Ownership> {
  try {
    const { TagSet } = await s3.send(new GetBucketTaggingCommand({ Bucket: bucket }));
    return judge(
      (TagSet ?? []).map((t) => ({ key: t.Key, value: t.Value })),
      prefix,
    );
  } catch (error) {
    if (isAwsError(error, "NoSuchBucket")) return "absent";
    if (isAwsError(error, "NoSuchTagSet", "NoSuchTagSetError")) return "foreign";
    throw error;
  }
}

/** Throws (exit 2) naming each resource that has this run's name but not its tag. */
export function refuseForeign(found: ReadonlyArray<{ what: string; ownership: Ownership }>, prefix: string): void {
  const foreign = found.filter((f) => f.ownership === "foreign").map((f) => f.what);
  if (foreign.length === 0) return;
  throw new ConfigError(
    `${foreign.join(", ")} ${foreign.length > 1 ? "exist" : "exists"} without the tag ${PREFIX_TAG}=${prefix}: not made by this workshop, so nothing of it is changed or deleted.`,
    "Choose another prefix with --prefix. If it really is a leftover of this workshop, delete it yourself, then run again.",
  );
}

/** Refuses (exit 2) a prefix whose stack names belong to stacks this workshop did not make. */
export async function refuseForeignStacks(cfn: CloudFormationClient, prefix: string): Promise<void> {
  const foreign = await stacksNotOurs(
    cfn,
    STACK_ROLES.map((r) => stackName(prefix, r)),
    PREFIX_TAG,
  );
  if (foreign.length > 0) {
    throw new ConfigError(
      `The prefix "${prefix}" is taken: ${foreign.join(", ")} exists and was not made by this workshop.`,
      "Choose another prefix with --prefix (it names every stack and resource).",
    );
  }
}
