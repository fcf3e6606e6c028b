// What teardown removes besides the stacks, and the final check that nothing
// tagged with the prefix is left. Every function here treats "already gone"
// as success, so teardown can run twice or after a half-finished run.
import { BatchDeleteImageCommand, type ECRClient, ListImagesCommand } from "@aws-sdk/client-ecr";
import { type CodeCommitClient, DeleteRepositoryCommand } from "@aws-sdk/client-codecommit";
import { GetResourcesCommand, type ResourceGroupsTaggingAPIClient } from "@aws-sdk/client-resource-groups-tagging-api";
import { DeleteObjectsCommand, ListObjectVersionsCommand, type S3Client } from "@aws-sdk/client-s3";
import { DeleteSecretCommand, ListSecretsCommand, type SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { PREFIX_TAG } from "./naming.ts";

const gone = (error: unknown, ...names: string[]) => names.includes((error as Error).name);

/** Deletes every image in the repository; returns how many. */
export async function emptyRepository(ecr: ECRClient, repositoryName: string): Promise<number> {
  let deleted = 0;
  try {
    for (;;) {
      const { imageIds } = await ecr.send(new ListImagesCommand({ repositoryName, maxResults: 100 }));
      if (!imageIds || imageIds.length === 0) return deleted;
      await ecr.send(new BatchDeleteImageCommand({ repositoryName, imageIds }));
      deleted += imageIds.length;
    }
  } catch (error) {
    if (gone(error, "RepositoryNotFoundException")) return deleted;
    throw error;
  }
}

/** Deletes every object version and delete marker (a versioned bucket keeps both); returns how many. */
export async function emptyBucket(s3: S3Client, bucket: string, keyPrefix?: string): Promise<number> {
  let deleted = 0;
  try {
    for (;;) {
      const page = await s3.send(
        new ListObjectVersionsCommand({ Bucket: bucket, MaxKeys: 1000, ...(keyPrefix ? { Prefix: keyPrefix } : {}) }),
      );
      const objects = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].map((v) => ({
        Key: v.Key as string,
        ...(v.VersionId ? { VersionId: v.VersionId } : {}),
      }));
      if (objects.length === 0) return deleted;
      await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects, Quiet: true } }));
      deleted += objects.length;
    }
  } catch (error) {
    if (gone(error, "NoSuchBucket")) return deleted;
    throw error;
  }
}

export async function deleteRepository(cc: CodeCommitClient, repositoryName: string): Promise<boolean> {
  const { repositoryId } = await cc.send(new DeleteRepositoryCommand({ repositoryName }));
  return repositoryId !== undefined;
}

/**
 * CloudFormation deletes the service's secret with Secrets Manager's recovery
 * window, so it lingers, tagged, for days. It is a generated key nobody needs
 * back: remove it for good.
 */
export async function purgeSecrets(secrets: SecretsManagerClient, prefix: string): Promise<string[]> {
  const { SecretList } = await secrets.send(
    new ListSecretsCommand({ IncludePlannedDeletion: true, Filters: [{ Key: "tag-value", Values: [prefix] }] }),
  );
  const ours = (SecretList ?? []).filter((s) => s.Tags?.some((t) => t.Key === PREFIX_TAG && t.Value === prefix));
  for (const s of ours) {
    await secrets
      .send(new DeleteSecretCommand({ SecretId: s.ARN, ForceDeleteWithoutRecovery: true }))
      .catch((error: unknown) => {
        if (!gone(error, "ResourceNotFoundException")) throw error;
      });
  }
  return ours.map((s) => s.Name ?? s.ARN ?? "?");
}

/** Every resource still carrying the prefix's tag, by ARN. */
export async function taggedLeftovers(tagging: ResourceGroupsTaggingAPIClient, prefix: string): Promise<string[]> {
  const arns: string[] = [];
  let token: string | undefined;
  do {
    const page = await tagging.send(
      new GetResourcesCommand({
        TagFilters: [{ Key: PREFIX_TAG, Values: [prefix] }],
        ...(token ? { PaginationToken: token } : {}),
      }),
    );
    for (const r of page.ResourceTagMappingList ?? []) if (r.ResourceARN) arns.push(r.ResourceARN);
    token = page.PaginationToken || undefined;
  } while (token);
  return arns;
}
