// bin/teardown: removes everything a run made, in dependency order and in
// parallel where the order allows, waits for each deletion, then proves that
// nothing tagged with the prefix is left. Safe to run twice, or after a
// half-finished run. It never touches a repository or bucket that has this
// run's name but not its tag.
import { ecrRepositoryName, reportGroupNames, stackName } from "./lib/aws/naming.ts";
import { deleteStack, describeStack, outputsOf } from "./lib/aws/stacks.ts";
import {
  deleteReportGroups,
  deleteRepository,
  deleteTaskDefinitions,
  emptyBucket,
  emptyRepository,
  purgeSecrets,
  stopPipeline,
} from "./lib/aws/cleanup.ts";
import { leftovers } from "./lib/aws/leftovers.ts";
import { bucketOwnership, codeCommitOwnership, ecrOwnership, refuseForeign } from "./lib/aws/ownership.ts";
import type { RunContext } from "./lib/context.ts";
import { StepError } from "./lib/errors.ts";
import { deleteBucketLeftBehind, releaseVpcForDelete } from "./lib/local/emulator-gaps.ts";
import { removeContainers } from "./lib/local/docker.ts";
import { findRehearsal } from "./lib/local/rehearsal.ts";

export interface TeardownResult {
  readonly removed: string[];
  readonly left: string[];
}

export async function teardown(
  ctx: RunContext,
  options: {
    dryRun: boolean;
    removeEmulator: boolean;
    /** AWS: how long to keep re-asking services about what the Tagging API still lists (default 60 s). */
    leftoverWaitSeconds?: number;
  },
): Promise<TeardownResult> {
  const { config, ui, aws } = ctx;
  const local = config.target === "local";
  const prefix = config.prefix;
  const removed: string[] = [];
  const names = {
    bucket: stackName(prefix, "bucket"),
    pipeline: stackName(prefix, "pipeline"),
    environment: stackName(prefix, "environment"),
    service: stackName(prefix, "service"),
  };
  const stacks = Object.fromEntries(
    await Promise.all(
      Object.entries(names).map(async ([role, name]) => [role, await describeStack(aws.cfn, name)] as const),
    ),
  );
  const bucket = outputsOf(stacks.bucket).BucketName;
  const containers = local ? await findRehearsal(prefix) : [];
  const repository = ecrRepositoryName(prefix);

  // Before anything is touched: what has this run's names must carry its tag.
  refuseForeign(
    [
      { what: `ECR repository ${repository}`, ownership: await ecrOwnership(aws.ecr, repository, prefix) },
      ...(bucket ? [{ what: `bucket ${bucket}`, ownership: await bucketOwnership(aws.s3, bucket, prefix) }] : []),
      ...(!local
        ? [
            {
              what: `CodeCommit repository ${repository}`,
              ownership: await codeCommitOwnership(aws.cc, repository, prefix),
            },
          ]
        : []),
    ],
    prefix,
  );

  if (options.dryRun) {
    const plan = [
      ...Object.entries(stacks)
        .filter(([, s]) => s)
        .map(([role]) => `stack ${names[role as keyof typeof names]}`),
      ...(bucket ? [`every object version in s3://${bucket}`] : []),
      ...(!local
        ? [
            `CodeCommit repository ${ecrRepositoryName(prefix)} (if any)`,
            `images in ECR repository ${ecrRepositoryName(prefix)}`,
          ]
        : []),
      ...containers.map((c) => `container ${c.id.slice(0, 12)} (${c.role}, ${c.image})`),
    ];
    for (const line of plan) ui.info(`would delete: ${line}`);
    if (plan.length === 0) ui.ok(`nothing to delete for prefix ${prefix}`);
    return { removed: [], left: plan };
  }

  const options_ = (spinnerText: (t: string) => void) => ctx.deployOptions(spinnerText, (t) => ui.info(t));
  const step = async (label: string, work: () => Promise<string | undefined>) => {
    const spinner = ui.spin(label);
    try {
      const done = await work();
      spinner.succeed(done ?? label);
      if (done) removed.push(done);
    } catch (error) {
      spinner.fail(`${label}: failed`);
      throw error;
    }
  };

  // 0. On AWS, the pipeline first: no new run may start and no running one may redeploy the service.
  if (!local) {
    const pipelineOutputs = outputsOf(stacks.pipeline);
    await step("stopping the pipeline", async () => {
      const stopped = await stopPipeline(
        aws,
        pipelineOutputs.PipelineName ?? names.pipeline,
        pipelineOutputs.TriggerRuleName ?? `${prefix}-start-pipeline`,
      );
      const parts = [
        stopped.triggerDisabled ? "trigger disabled" : "no trigger",
        `${stopped.abandoned.length} running execution(s) abandoned`,
      ];
      return `pipeline stopped: ${parts.join(", ")}`;
    });
  }

  // 1. The service first: it uses the environment and the image.
  await step(`deleting ${names.service}`, async () =>
    (await deleteStack(
      aws.cfn,
      names.service,
      options_(() => undefined),
    ))
      ? `stack ${names.service} deleted`
      : `stack ${names.service}: already gone`,
  );
  const apps = containers.filter((c) => c.role === "app");
  if (apps.length > 0) {
    await removeContainers(apps.map((c) => c.id));
    removed.push(`${apps.length} app container(s)`);
  }
  if (!local) {
    const purged = await purgeSecrets(aws.secrets, prefix);
    if (purged.length > 0) removed.push(`secret(s) ${purged.join(", ")}`);
    // Deregistered revisions stay INACTIVE and tagged until deleted.
    const revisions = await deleteTaskDefinitions(aws.ecs, `${prefix}-app`);
    if (revisions > 0) removed.push(`${revisions} inactive task definition revision(s)`);
  }

  // 2. Pipeline (its image repository emptied first) and environment, side by side.
  await Promise.all([
    step(`deleting ${names.pipeline}`, async () => {
      const images = await emptyRepository(aws.ecr, ecrRepositoryName(prefix));
      const deleted = await deleteStack(
        aws.cfn,
        names.pipeline,
        options_(() => undefined),
      );
      return deleted
        ? `stack ${names.pipeline} deleted (${images} image(s) removed first)`
        : `stack ${names.pipeline}: already gone`;
    }),
    step(`deleting ${names.environment}`, async () => {
      const vpc = outputsOf(stacks.environment).VpcId;
      // The emulator cannot delete a VPC's gateway and route tables itself (see emulator-gaps.ts).
      if (local && vpc) await releaseVpcForDelete(aws.ec2, vpc).catch(() => []);
      const deleted = await deleteStack(
        aws.cfn,
        names.environment,
        options_(() => undefined),
      );
      return deleted ? `stack ${names.environment} deleted` : `stack ${names.environment}: already gone`;
    }),
  ]);

  // 3. The source, then the bucket: every version and delete marker, then its stack.
  if (!local) {
    // The builds' report groups are CodeBuild's, not the pipeline stack's.
    const groups = await deleteReportGroups(aws.cb, reportGroupNames(prefix));
    if (groups.length > 0) removed.push(`report group(s) ${groups.join(", ")}`);
    await step(`deleting CodeCommit repository ${ecrRepositoryName(prefix)}`, async () =>
      (await deleteRepository(aws.cc, ecrRepositoryName(prefix)))
        ? `CodeCommit repository ${ecrRepositoryName(prefix)} deleted`
        : `CodeCommit repository ${ecrRepositoryName(prefix)}: none`,
    );
  }
  await step(`deleting ${names.bucket}`, async () => {
    const objects = bucket ? await emptyBucket(aws.s3, bucket) : 0;
    const deleted = await deleteStack(
      aws.cfn,
      names.bucket,
      options_(() => undefined),
    );
    // The emulator reports the stack deleted but keeps the empty bucket (see emulator-gaps.ts).
    if (local && bucket) await deleteBucketLeftBehind(aws.s3, bucket);
    return deleted
      ? `stack ${names.bucket} deleted (${objects} object version(s) removed first)`
      : `stack ${names.bucket}: already gone`;
  });

  // 4. Prove it.
  const left: string[] = [];
  for (const name of Object.values(names)) if (await describeStack(aws.cfn, name)) left.push(`stack ${name}`);
  if (local) {
    left.push(
      ...(await findRehearsal(prefix)).filter((c) => c.role === "app").map((c) => `app container ${c.id.slice(0, 12)}`),
    );
    if (options.removeEmulator) {
      const emulators = (await findRehearsal(prefix)).filter((c) => c.role === "emulator");
      await removeContainers(emulators.map((c) => c.id));
      if (emulators.length > 0) removed.push("the emulator container (and everything in it)");
      left.push(...(await findRehearsal(prefix)).map((c) => `container ${c.id.slice(0, 12)}`));
    }
  } else {
    const spinner = ui.spin("checking that nothing tagged with the prefix is left");
    const found = await leftovers(aws, prefix, config.aws.region, {
      signal: ctx.signal,
      ...(options.leftoverWaitSeconds !== undefined
        ? { maxWaitSeconds: options.leftoverWaitSeconds, minDelaySeconds: 1 }
        : {}),
    });
    if (found.length === 0) spinner.succeed("nothing tagged with the prefix is left");
    else spinner.fail(`${found.length} tagged resource(s) still exist`);
    left.push(...found.map((l) => `${l.arn}\n      remove it: ${l.remove}`));
  }
  if (left.length > 0) {
    throw new StepError(
      `Teardown left ${left.length} thing(s) behind:\n${left.map((l) => `  - ${l}`).join("\n")}`,
      "Run bin/teardown again; if they remain, remove each with the command shown (they carry the tag aws-cicd-lab:prefix).",
    );
  }
  return { removed, left };
}
