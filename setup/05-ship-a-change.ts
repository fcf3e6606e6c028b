// Step 05: ship a change - commit a new /time message, follow the release it
// triggers, and show that users did not notice (or, locally, for how long they did).
import { stackName, templateFile } from "./lib/aws/naming.ts";
import { releaseRevision } from "./lib/aws/pipeline-watch.ts";
import { checkMessage, TIME_MESSAGE_SHIPPED, withTimeMessage } from "./lib/aws/source-change.ts";
import { collectSource, seedRepository, uploadSourceZip } from "./lib/aws/source.ts";
import { describeStack, outputsOf } from "./lib/aws/stacks.ts";
import { CODE_DIR, type RunContext } from "./lib/context.ts";
import { StepError } from "./lib/errors.ts";
import { runLocalPipeline } from "./lib/local/pipeline.ts";
import { verifyApp, waitForHealthy } from "./lib/verify.ts";
import { BRANCH, SOURCE_KEY } from "./02-seed-repository.ts";

export const title = "Ship a change";

interface Traffic {
  total: number;
  failed: number;
}

/** Requests the URL every 200 ms until stopped, counting the ones that fail: what users saw during the rollout. */
function watchTraffic(url: string): { stop(): Promise<Traffic> } {
  const traffic: Traffic = { total: 0, failed: 0 };
  let running = true;
  const loop = (async () => {
    while (running) {
      traffic.total += 1;
      const ok = await fetch(`${url}/time`, { signal: AbortSignal.timeout(5_000) }).then(
        (r) => r.status === 200,
        () => false,
      );
      if (!ok) traffic.failed += 1;
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return traffic;
    },
  };
}

export async function run(ctx: RunContext, quiet = false): Promise<void> {
  const { config, ui, state } = ctx;
  if (!state.bucket || !state.appUrl)
    throw new StepError("The app is not released yet.", "Run step 04 first (bin/run --from 04).");
  const message = checkMessage(config.message ?? TIME_MESSAGE_SHIPPED);
  if (!quiet) {
    ui.explain(`Now the point of it all: change the app and let the pipeline ship it. This step changes
the message GET /time answers, commits it, and follows the release: test, build, and a
rolling deploy that starts new tasks and stops old ones only once the new ones are healthy.
Meanwhile it keeps calling the app, to count what users would have seen fail.
The new message: "${message}"`);
  }
  const files = withTimeMessage(await collectSource(CODE_DIR, templateFile("service")), message);
  const pipeline = outputsOf(await describeStack(ctx.aws.cfn, stackName(config.prefix, "pipeline")));
  const provider: "CodeCommit" | "S3" =
    (pipeline.SourceProvider ?? state.source?.provider) === "CodeCommit" ? "CodeCommit" : "S3";

  let revision: string;
  let version: string;
  const spinner = ui.spin("committing the change");
  if (provider === "CodeCommit") {
    const seeded = await seedRepository(
      ctx.aws.cc,
      state.source?.location ?? `${config.prefix}-app`,
      BRANCH,
      files,
      `Change the /time message to "${message}"`,
    );
    revision = seeded.commitId;
    version = seeded.commitId.slice(0, 10);
    spinner.succeed(
      seeded.commits > 0 ? `committed ${version}` : `already committed (${version}); following its release`,
    );
  } else {
    const uploaded = await uploadSourceZip(ctx.aws.s3, state.bucket, SOURCE_KEY, files);
    revision = uploaded.versionId;
    version = uploaded.version;
    spinner.succeed(
      uploaded.uploaded
        ? `uploaded source.zip, version ${version}`
        : `source.zip already holds this change (${version})`,
    );
  }

  let url = state.appUrl;
  if (config.target === "aws") {
    const traffic = watchTraffic(url);
    const follow = ui.spin(`waiting for the run that builds ${revision.slice(0, 12)}`);
    try {
      const executionId = await releaseRevision(
        ctx.aws,
        stackName(config.prefix, "pipeline"),
        { provider, revision },
        {
          maxWaitSeconds: 1800,
          signal: ctx.signal,
          onRestart: (old, status, fresh) =>
            follow.log(
              `run ${old.slice(0, 8)} for this revision had ${status.toLowerCase()}: started run ${fresh.slice(0, 8)}`,
            ),
          onStages: (_id, stages) => follow.update(stages.map((s) => `${s.name} ${s.status}`).join(" → ")),
        },
      );
      follow.succeed(`run ${executionId.slice(0, 8)} succeeded`);
    } catch (error) {
      follow.fail("the release did not succeed");
      await traffic.stop();
      throw error;
    }
    const seen = await traffic.stop();
    const line = `${seen.total} requests to ${url}/time during the release, ${seen.failed} failed`;
    if (seen.failed === 0) ui.ok(`${line}: the rolling deploy kept the app up.`);
    else ui.warn(`${line}.`);
  } else {
    const release = ui.spin("Source");
    const result = await runLocalPipeline({
      prefix: config.prefix,
      region: config.aws.region,
      accountId: state.accountId ?? "123456789012",
      bucket: state.bucket,
      key: SOURCE_KEY,
      nodeImage: config.images.node,
      clients: { cfn: ctx.aws.cfn, s3: ctx.aws.s3, ecr: ctx.aws.ecr },
      deployOptions: ctx.deployOptions(
        (t) => release.update(`Deploy: ${t}`),
        (t) => release.log(t),
      ),
      signal: ctx.signal,
      onStage: (stage, st, detail) =>
        st === "started" ? release.update(`${stage}: ${detail}`) : release.log(`✓ ${stage}: ${detail}`),
    });
    release.succeed(`released ${result.version} locally`);
    url = result.url;
    if (result.downtimeMs !== undefined) {
      ui.info(
        `The app at ${url} did not answer for ${(result.downtimeMs / 1000).toFixed(2)} s while its container was replaced: locally there is one container and no load balancer to roll over to. On AWS, the rolling deploy behind the load balancer avoids this.`,
      );
    }
  }

  await waitForHealthy(url, { maxWaitSeconds: config.target === "aws" ? 600 : 60, signal: ctx.signal });
  const checks = await verifyApp(url, version);
  const time = (await (await fetch(`${url}/time`)).json()) as { message?: string };
  if (time.message !== message) {
    throw new StepError(
      `${url}/time says "${time.message}", not the new message.`,
      "The release may still be rolling out: check again in a minute with `bin/lesson 05 --check`.",
    );
  }
  for (const c of checks) ui.ok(`${c.name}: ${c.detail}`);
  state.version = version;
  state.appUrl = url;
}
