// bin/teardown: removes everything a run made, in dependency order and in
// parallel where the order allows, waits for each deletion, then proves that
// nothing of the prefix is left. Safe to run twice, or after a half-finished
// run. It never touches a repository or bucket that has this run's name but
// not its tag. What differs between AWS and the rehearsal is the target's
// (setup/targets/): the order here is the same for both.
import { begin, confirm, main, type RunHooks, untilInterrupted } from "./cli.ts";
import { emptyBucket, emptyRepository } from "./lib/aws/cleanup.ts";
import { ecrRepositoryName, STACK_ROLES, type StackRole, stackName } from "./lib/aws/naming.ts";
import { bucketOwnership, ecrOwnership, refuseForeign } from "./lib/aws/ownership.ts";
import { deleteStack, describeStack, outputsOf } from "./lib/aws/stacks.ts";
import { createContext } from "./lib/context.ts";
import type { Config } from "./lib/config.ts";
import { EXIT, LabError, StepError } from "./lib/errors.ts";
import { describePlace, forget, type Place, placeOf, placesOf, samePlace, teardownCommand } from "./lib/run-records.ts";
import { type Narrator, withSpinner } from "./lib/ui/narrator.ts";
import type { TargetContext } from "./targets/target.ts";
import { targetFor } from "./targets/index.ts";
import type { Target } from "./targets/target.ts";

const TEARDOWN_HELP = `Usage: bin/teardown [flags]     (also: npm run teardown -- [flags])

Deletes everything bin/run made for a prefix - the service, pipeline, environment
and bucket stacks, images, the repository or source.zip, every object version -
waits for each deletion, then checks nothing tagged with the prefix is left.

  --target aws|local   --region REGION   --prefix NAME (default: demo)
  --dry-run            list what would be deleted, delete nothing
  --yes, -y            do not ask for confirmation
  --verbose, -v        show stack traces on errors`;

/** What a teardown met: whether the prefix had anything at all where it looked. */
export interface TeardownResult {
  readonly found: boolean;
}

export async function teardown(
  ctx: TargetContext & { readonly target: Target; readonly state?: { readonly accountId?: string } },
  options: { dryRun: boolean; removeEmulator: boolean; leftoverWait?: RunHooks["leftoverWait"] },
): Promise<TeardownResult> {
  const { config, ui, aws, target } = ctx;
  const prefix = config.prefix;
  const hooks = target.teardown(ctx);
  const names = Object.fromEntries(STACK_ROLES.map((role) => [role, stackName(prefix, role)])) as Record<
    StackRole,
    string
  >;
  const stacks = Object.fromEntries(
    await Promise.all(STACK_ROLES.map(async (role) => [role, await describeStack(aws.cfn, names[role])] as const)),
  );
  const bucket = outputsOf(stacks.bucket).BucketName;

  // Before anything is touched: what has this run's names must carry its tag.
  const repository = ecrRepositoryName(prefix);
  refuseForeign(
    [
      { what: `ECR repository ${repository}`, ownership: await ecrOwnership(aws.ecr, repository, prefix) },
      ...(bucket ? [{ what: `bucket ${bucket}`, ownership: await bucketOwnership(aws.s3, bucket, prefix) }] : []),
      ...(await hooks.otherOwnedResources()),
    ],
    prefix,
  );

  if (options.dryRun) {
    const plan = [
      ...STACK_ROLES.filter((role) => stacks[role]).map((role) => `stack ${names[role]}`),
      ...(bucket ? [`every object version in s3://${bucket}`] : []),
      ...(await hooks.plan()),
    ];
    for (const line of plan) ui.info(`would delete: ${line}`);
    if (plan.length === 0) ui.info(`nothing to delete for prefix ${prefix} here`);
    return { found: plan.length > 0 };
  }

  let found = STACK_ROLES.some((role) => stacks[role]);
  const removedAlso = (lines: readonly string[]) => {
    for (const line of lines) ui.ok(`removed ${line}`);
    if (lines.length > 0) found = true;
  };
  const deleteOptions = target.deployOptions(
    () => undefined,
    (t) => ui.info(t),
  );
  const removeStack = (role: StackRole, before?: () => Promise<string>) =>
    withSpinner(
      ui,
      `deleting ${names[role]}`,
      async () => {
        const first = before ? ` (${await before()})` : "";
        return (await deleteStack(aws.cfn, names[role], deleteOptions))
          ? `stack ${names[role]} deleted${first}`
          : `stack ${names[role]}: already gone`;
      },
      { done: (line) => line, failed: `deleting ${names[role]}: failed` },
    );

  // 0. Nothing may start or continue a release behind teardown's back.
  const stopped = await hooks.stopReleases(outputsOf(stacks.pipeline));
  if (stopped) ui.ok(stopped);

  // 1. What watches the service (its alarms name the load balancer), then the service: it uses the
  // environment and the image.
  // Only lesson 07 makes the monitoring stack: no line about it for a run that never had one.
  if (stacks.monitoring) {
    removedAlso(await hooks.beforeMonitoring());
    await removeStack("monitoring");
  }
  await removeStack("service");
  removedAlso(await hooks.afterService());

  // 2. Pipeline (its image repository emptied first) and environment, side by side.
  await Promise.all([
    removeStack("pipeline", async () => `${await emptyRepository(aws.ecr, repository)} image(s) removed first`),
    hooks.beforeEnvironment(outputsOf(stacks.environment).VpcId).then(() => removeStack("environment")),
  ]);

  // 3. The source and what builds left, then the bucket: every version and delete marker, then its stack.
  removedAlso(await hooks.afterPipeline());
  await removeStack(
    "bucket",
    async () => `${bucket ? await emptyBucket(aws.s3, bucket) : 0} object version(s) removed first`,
  );
  await hooks.afterBucket(bucket);

  // 4. Prove it.
  const left: string[] = [];
  for (const role of STACK_ROLES) if (await describeStack(aws.cfn, names[role])) left.push(`stack ${names[role]}`);
  left.push(...(await hooks.leftovers(options.leftoverWait)));
  const finished = await hooks.finish(options.removeEmulator);
  removedAlso(finished.removed);
  left.push(...finished.left);
  if (left.length > 0) {
    throw new StepError(
      `Teardown left ${left.length} thing(s) behind:\n${left.map((l) => `  - ${l}`).join("\n")}`,
      "Run bin/teardown again; if they remain, remove each with the command shown (they carry the tag aws-cicd-lab:prefix).",
    );
  }
  await forget(config.recordsDir, prefix, placeOf(config, ctx.state?.accountId));
  return { found };
}

/**
 * After a teardown here: the other places this machine recorded a run of the
 * prefix in, each with the command that reaches it. When nothing was found
 * here that is an error (exit 2): the person aimed at the wrong place, and
 * "nothing to tear down" would let a run bill on.
 */
async function remindOfOtherRuns(config: Config, ui: Narrator, here: Place, foundHere: boolean): Promise<number> {
  const elsewhere = (await placesOf(config.recordsDir, config.prefix)).filter((r) => !samePlace(r, here));
  if (elsewhere.length === 0) return EXIT.ok;
  const lines = elsewhere.map(
    (r) =>
      `  - ${describePlace(r)} (since ${r.since.slice(0, 16).replace("T", " ")} UTC): ${teardownCommand(r, config.inDemoImage)}`,
  );
  const recorded = `this machine recorded ${elsewhere.length === 1 ? "a run" : "runs"} of prefix ${config.prefix} elsewhere:\n${lines.join("\n")}`;
  if (foundHere) {
    ui.warn(`Also, ${recorded}`);
    return EXIT.ok;
  }
  throw new LabError(`Nothing of prefix ${config.prefix} is in ${describePlace(here)}, but ${recorded}`, {
    hint: `Run the command shown to remove ${elsewhere.length === 1 ? "it" : "each"}: until then it may be billing.`,
    exitCode: EXIT.badInput,
  });
}

export async function runTeardown(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  hooks: RunHooks = {},
): Promise<number> {
  const begun = begin(argv, env, hooks, TEARDOWN_HELP);
  if ("exitCode" in begun) return begun.exitCode;
  return main(begun, async ({ config, ui, abort }) => {
    const target = targetFor(config);
    const session = await untilInterrupted(abort.signal, target.open({ start: false }));
    if (!session) {
      // Local, and no emulator for this prefix: only containers can be left, and the target's finish removes them.
      const ctx = createContext(config, target, ui, abort.signal);
      const { removed } = config.dryRun ? { removed: [] } : await target.teardown(ctx).finish(true);
      const here = placeOf(config);
      if (!config.dryRun) await forget(config.recordsDir, config.prefix, here);
      if (removed.length > 0) ui.ok(`removed ${removed.join(", ")}`);
      const code = await remindOfOtherRuns(config, ui, here, removed.length > 0);
      if (removed.length === 0) ui.ok(`nothing to tear down for prefix ${config.prefix}`);
      return code;
    }
    const ctx = createContext(session.config, target, ui, abort.signal, { accountId: session.accountId });
    if (!config.dryRun && !(await target.approveTeardown(ui, session, confirm))) {
      ui.info("Nothing was deleted.");
      return EXIT.ok;
    }
    const started = performance.now();
    const { found } = await untilInterrupted(
      abort.signal,
      teardown(ctx, { dryRun: config.dryRun, removeEmulator: true, leftoverWait: hooks.leftoverWait }),
    );
    const code = await remindOfOtherRuns(session.config, ui, placeOf(session.config, session.accountId), found);
    if (!config.dryRun)
      ui.ok(
        `torn down in ${((performance.now() - started) / 1000).toFixed(1)} s; nothing tagged ${config.prefix} is left`,
      );
    return code;
  });
}
