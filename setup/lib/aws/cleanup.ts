// What teardown removes besides the stacks, and the final check that nothing
// tagged with the prefix is left. Every function here treats "already gone"
// as success, so teardown can run twice or after a half-finished run.
import { BatchDeleteImageCommand, type ECRClient, ListImagesCommand } from "@aws-sdk/client-ecr";
import { type CodeCommitClient, DeleteRepositoryCommand } from "@aws-sdk/client-codecommit";
import { DeleteObjectsCommand, ListObjectVersionsCommand, type S3Client } from "@aws-sdk/client-s3";
import { DeleteSecretCommand, ListSecretsCommand, type SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import {
  type CodePipelineClient,
  ListPipelineExecutionsCommand,
  StopPipelineExecutionCommand,
} from "@aws-sdk/client-codepipeline";
import {
  BatchGetBuildsCommand,
  type CodeBuildClient,
  DeleteReportGroupCommand,
  ListBuildsForProjectCommand,
  ListReportGroupsCommand,
  StopBuildCommand,
} from "@aws-sdk/client-codebuild";
import { DeleteTaskDefinitionsCommand, type ECSClient, ListTaskDefinitionsCommand } from "@aws-sdk/client-ecs";
import { DisableRuleCommand, type EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { isAwsError, isEndpointMissing, StepError } from "../errors.ts";
import { PREFIX_TAG } from "./naming.ts";

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
    if (isAwsError(error, "RepositoryNotFoundException")) return deleted;
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
      const { Errors } = await s3.send(
        new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects, Quiet: true } }),
      );
      // With Quiet, only failures come back. Stop on them: listing again would find the same objects forever.
      if (Errors && Errors.length > 0) {
        const first = Errors.slice(0, 3).map((e) =>
          `${e.Key} (${e.VersionId ?? "no version"}): ${e.Code} ${e.Message ?? ""}`.trim(),
        );
        throw new StepError(
          `${Errors.length} object version(s) in s3://${bucket} could not be deleted: ${first.join("; ")}`,
          `Check who may delete objects in that bucket (a bucket policy or an SCP may deny it), then run teardown again; or empty it with: aws s3api delete-objects --bucket ${bucket} ...`,
        );
      }
      deleted += objects.length;
    }
  } catch (error) {
    if (isAwsError(error, "NoSuchBucket")) return deleted;
    throw error;
  }
}

export async function deleteRepository(cc: CodeCommitClient, repositoryName: string): Promise<boolean> {
  try {
    const { repositoryId } = await cc.send(new DeleteRepositoryCommand({ repositoryName }));
    return repositoryId !== undefined;
  } catch (error) {
    // A region without CodeCommit: the run used the S3 source, there is no repository.
    if (isEndpointMissing(error)) return false;
    throw error;
  }
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
        if (!isAwsError(error, "ResourceNotFoundException")) throw error;
      });
  }
  return ours.map((s) => s.Name ?? s.ARN ?? "?");
}

export interface StoppedPipeline {
  /** The trigger rule was disabled (false: there was none). */
  readonly triggerDisabled: boolean;
  /** Executions that were running and are now abandoned. */
  readonly abandoned: readonly string[];
}

/**
 * First thing in a teardown: no new run may start (the trigger rules are
 * disabled) and no running one may continue (abandoned, so its Deploy cannot
 * create the service stack again behind teardown's back).
 */
export async function stopPipeline(
  clients: { readonly cp: CodePipelineClient; readonly events: EventBridgeClient },
  pipelineName: string,
  triggerRuleNames: readonly string[],
): Promise<StoppedPipeline> {
  let triggerDisabled = false;
  for (const name of triggerRuleNames) {
    const disabled = await clients.events.send(new DisableRuleCommand({ Name: name })).then(
      () => true,
      (error: unknown) => {
        // A rule the run's source does not have (the release tag's, with an S3 source).
        if (isAwsError(error, "ResourceNotFoundException")) return false;
        throw error;
      },
    );
    triggerDisabled ||= disabled;
  }
  let running: string[];
  try {
    const { pipelineExecutionSummaries } = await clients.cp.send(
      new ListPipelineExecutionsCommand({ pipelineName, maxResults: 50 }),
    );
    running = (pipelineExecutionSummaries ?? [])
      .filter((e) => e.status === "InProgress" || e.status === "Stopping")
      .map((e) => e.pipelineExecutionId as string);
  } catch (error) {
    if (isAwsError(error, "PipelineNotFoundException")) return { triggerDisabled, abandoned: [] };
    throw error;
  }
  for (const id of running) {
    await clients.cp
      .send(
        new StopPipelineExecutionCommand({
          pipelineName,
          pipelineExecutionId: id,
          abandon: true,
          reason: "aws-cicd-lab teardown",
        }),
      )
      .catch((error: unknown) => {
        // Already stopping, or it ended in the meantime: either way it is not going on.
        if (!isAwsError(error, "PipelineExecutionNotStoppableException", "DuplicatedStopRequestException")) throw error;
      });
  }
  return { triggerDisabled, abandoned: running };
}

/**
 * Abandoning a pipeline run does not stop the builds it started: they run on
 * (and bill) until they end, and one whose role teardown deletes may wait out
 * its whole timeout. Stops every build of these projects still in progress;
 * returns their ids. A project that does not exist has none.
 */
export async function stopBuilds(cb: CodeBuildClient, projectNames: readonly string[]): Promise<string[]> {
  const stopped: string[] = [];
  for (const projectName of projectNames) {
    let ids: string[];
    try {
      // Newest first: builds still running are among the latest, and a pipeline starts one per action.
      ({ ids = [] } = await cb.send(new ListBuildsForProjectCommand({ projectName, sortOrder: "DESCENDING" })));
    } catch (error) {
      if (isAwsError(error, "ResourceNotFoundException")) continue;
      throw error;
    }
    if (ids.length === 0) continue;
    const { builds } = await cb.send(new BatchGetBuildsCommand({ ids: ids.slice(0, 100) }));
    for (const build of (builds ?? []).filter((b) => b.buildStatus === "IN_PROGRESS")) {
      await cb.send(new StopBuildCommand({ id: build.id })).catch((error: unknown) => {
        // It ended in the meantime.
        if (!isAwsError(error, "InvalidInputException", "ResourceNotFoundException")) throw error;
      });
      stopped.push(build.id as string);
    }
  }
  return stopped;
}

/**
 * Deregistered task definitions stay INACTIVE (and tagged) until deleted.
 * Deletes every INACTIVE revision of the family; returns how many.
 */
export async function deleteTaskDefinitions(ecs: ECSClient, family: string): Promise<number> {
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await ecs.send(
      new ListTaskDefinitionsCommand({ familyPrefix: family, status: "INACTIVE", nextToken }),
    );
    // familyPrefix matches by prefix: keep exactly this family's revisions.
    arns.push(...(page.taskDefinitionArns ?? []).filter((a) => a.split("/").at(-1)?.startsWith(`${family}:`)));
    nextToken = page.nextToken;
  } while (nextToken);
  // DeleteTaskDefinitions takes at most 10 at a time.
  for (let i = 0; i < arns.length; i += 10) {
    await ecs.send(new DeleteTaskDefinitionsCommand({ taskDefinitions: arns.slice(i, i + 10) }));
  }
  return arns.length;
}

/**
 * CodeBuild creates a report group per project and buildspec report
 * (<project>-<report>) on the first build; the pipeline stack does not own
 * them. Deletes exactly those, with their reports; returns their names.
 */
export async function deleteReportGroups(cb: CodeBuildClient, names: readonly string[]): Promise<string[]> {
  const deleted: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await cb.send(new ListReportGroupsCommand({ nextToken }));
    for (const arn of page.reportGroups ?? []) {
      const name = arn.split("/").at(-1) as string;
      if (!names.includes(name)) continue;
      await cb.send(new DeleteReportGroupCommand({ arn, deleteReports: true })).catch((error: unknown) => {
        if (!isAwsError(error, "ResourceNotFoundException")) throw error;
      });
      deleted.push(name);
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return deleted;
}
