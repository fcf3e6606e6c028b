// The local rehearsal: the emulator (moto in a container, reused by prefix)
// holds the stacks; what it cannot run, the local stand-ins do on the Docker
// engine (see setup/lib/local/index.ts); teardown removes the
// containers too, and by default the emulator itself.
import { ecrRepositoryName, pipelineName, SOURCE_KEY, stackName, templateFile } from "../lib/aws/naming.ts";
import type { DeployOptions } from "../lib/aws/stacks.ts";
import { refuseForeignStacks } from "../lib/aws/ownership.ts";
import { type Config, IMAGE_VARIABLES, type Images, readAwsSettings } from "../lib/config.ts";
import { ConfigError, PrerequisiteError } from "../lib/errors.ts";
import { shortenArns } from "../lib/ui/arns.ts";
import { stageUpdates } from "../lib/ui/pipeline-progress.ts";
import { probe } from "../lib/probe.ts";
import { withSpinner } from "../lib/ui/narrator.ts";
import { deployProgress } from "../lib/ui/stack-progress.ts";
import type { Session, Target } from "./target.ts";
import {
  connectDocker,
  deleteBucketLeftBehind,
  deleteRegistryImages,
  directOperations,
  EMULATOR_ACCOUNT_ID,
  emulatorClients,
  ensureEmulator,
  ensureRegistry,
  findRehearsal,
  holdPipeline,
  loadBalancerUrl,
  MotoContainer,
  readServiceEvents,
  REGISTRY_VOLUME,
  REHEARSAL_SPEEDUP,
  holdMonitoring,
  monitoringStack,
  releaseHeldMonitoring,
  watchAlarms,
  CLOUDWATCH_SPEEDUP,
  rehearsalMetricData,
  releaseHeldPipeline,
  releaseLocally,
  releaseVpcForDelete,
  removeContainers,
  removeEngineImages,
  removeTaskNetwork,
  renderDeployedStack,
  requireImage,
  taskNetwork,
  useRyukIfAvailable,
} from "../lib/local/index.ts";

/** What the demo image says when started with neither a region nor a Docker engine. */
const DEMO_IMAGE_HELP = `This image needs a region (to build in your AWS account) or the Docker socket (to rehearse locally, free):
  AWS:   docker run -it --rm -e REGION=eu-west-1 -e AWS_PROFILE --user "$(id -u):$(id -g)" -v ~/.aws:/home/lab/.aws:ro -v ~/.aws-cicd-lab:/home/lab/.aws-cicd-lab demo
  local: docker run -it --network host -v /var/run/docker.sock:/var/run/docker.sock --group-add "$(stat -c %g /var/run/docker.sock)" demo`;

function withEndpoint(config: Config, endpoint: string): Config {
  return Object.freeze({
    ...config,
    aws: readAwsSettings({ AWS_ENDPOINT_URL: endpoint, AWS_REGION: config.aws.region }),
  });
}

/** "the registry container", "2 task containers": one phrase per role, in the order first found. */
function containerNames(containers: ReadonlyArray<{ readonly role: string }>): string[] {
  const counts = new Map<string, number>();
  for (const c of containers) counts.set(c.role, (counts.get(c.role) ?? 0) + 1);
  return [...counts].map(([role, n]) => (n === 1 ? `the ${role} container` : `${n} ${role} containers`));
}

export function localTarget(config: Config): Target {
  const { prefix } = config;
  const session = async (endpoint: string, notice?: string): Promise<Session> => {
    const connected = withEndpoint(config, endpoint);
    await refuseForeignStacks(emulatorClients(connected.aws).cfn, prefix);
    return { config: connected, accountId: EMULATOR_ACCOUNT_ID, ...(notice ? { notice } : {}) };
  };
  // An emulator the person started and named with AWS_ENDPOINT_URL is theirs: never removed.
  const external = config.aws.endpoint !== undefined;
  const deployOptions = (onLine: (text: string) => void, log: (text: string) => void): DeployOptions => ({
    pollSeconds: 1,
    maxWaitSeconds: 120,
    // The emulator records no outputs or exports for change sets (see lib/local/cloudformation/direct.ts).
    operations: directOperations,
    onNotice: log,
    onProgress: deployProgress(config.tty, onLine, log),
  });

  return {
    kind: "local",
    clients: emulatorClients,
    label: "local rehearsal",
    flags: "--target local",

    async open({ start }) {
      const docker = await connectDocker().catch((error: unknown) => {
        // In the demo image, no engine means the person started it without the socket: say how to start it.
        if (config.inDemoImage && error instanceof PrerequisiteError)
          throw new PrerequisiteError(DEMO_IMAGE_HELP, "", error);
        throw error;
      });
      await useRyukIfAvailable(docker, process.env);
      if (config.aws.endpoint !== undefined) {
        if (!(await probe(config.aws.endpoint)).status) {
          throw new PrerequisiteError(
            `The emulator at ${config.aws.endpoint} (AWS_ENDPOINT_URL) does not answer.`,
            "Start it, or unset AWS_ENDPOINT_URL and let the rehearsal start its own.",
          );
        }
        return session(config.aws.endpoint);
      }
      if (!start) {
        const running = (await findRehearsal(prefix)).find((c) => c.role === "emulator" && c.running && c.url);
        return running?.url ? session(running.url) : undefined;
      }
      for (const role of Object.keys(IMAGE_VARIABLES) as Array<keyof Images>)
        await requireImage(docker, config.images[role], IMAGE_VARIABLES[role]);
      // The registry starts beside the emulator: step 04's first build pushes to it.
      const [emulator] = await Promise.all([
        ensureEmulator(prefix, new MotoContainer(config.images.moto)),
        ensureRegistry(prefix, config.images.registry),
      ]);
      return session(
        emulator.endpoint,
        emulator.reused ? "Found this prefix's emulator still running: carrying on with it." : undefined,
      );
    },

    refuseUnconfirmed() {
      // Nothing here costs anything.
    },

    introduce(ui, session) {
      const free = `Local rehearsal, prefix "${prefix}": free, nothing leaves this machine.`;
      // A rehearsal already running was introduced when it started.
      if (session.notice) return ui.info(`${free} ${session.notice}`);
      ui.info(free);
      ui.info("Emulated: AWS itself (moto in a container). Stood in for locally: running the pipeline as defined");
      ui.info("(buildspecs in a build container, images pushed to a local registry), the Fargate service (tasks");
      ui.info(
        "started from the task definition, rolled out as ECS does) and the load balancer (HAProxy on 127.0.0.1).",
      );
    },

    // Config refuses --plan for the rehearsal: there is no account to check.
    plan: () =>
      Promise.reject(
        new ConfigError("--plan checks an AWS account.", "Give a region: bin/run --region eu-west-1 --plan"),
      ),
    approve: () => Promise.resolve(true),

    deployOptions,

    triesCodeCommit: false,
    notes: {
      source: `The emulator cannot store commits, so the rehearsal uses the S3 source: ${SOURCE_KEY}.`,
      stacks:
        "The emulator stores both stacks but runs neither the pipeline nor the load balancer; the local stand-ins do.",
      release:
        "Locally, the pipeline the emulator holds runs as defined: its buildspecs in a build container, its image pushed to a local registry.",
      loadBalancer: (url) => `load balancer URL (emulated, not reachable): ${url}`,
      failedRelease:
        "On AWS the console shows the same: CodePipeline's run failed at Deploy; CloudFormation's service stack update failed and rolled back (UPDATE_ROLLBACK_COMPLETE); ECS's Deployments and Events tabs show the failed deployment.",
    },

    async pipelineDeployed(ctx) {
      // The emulator's CloudFormation skips the pipeline and its projects (see setup/lib/local/index.ts).
      const template = await renderDeployedStack(
        ctx.aws.cfn,
        stackName(prefix, "pipeline"),
        templateFile("pipeline"),
        EMULATOR_ACCOUNT_ID,
        ctx.config.aws.region,
      );
      const held = await holdPipeline(ctx.aws, template);
      return `the emulator holds ${held.pipeline} and the projects ${held.projects.join(", ")}, as the template defines them`;
    },

    async release(ctx, { source }) {
      const registry = await ensureRegistry(prefix, config.images.registry);
      const name = pipelineName(prefix);
      const release = await withSpinner(
        ctx.ui,
        `${name}: starting`,
        (spinner) =>
          releaseLocally({
            prefix,
            region: ctx.config.aws.region,
            accountId: EMULATOR_ACCOUNT_ID,
            endpoint: ctx.config.aws.endpoint as string,
            images: config.images,
            registry: registry.address,
            clients: ctx.aws,
            deployOptions: deployOptions(
              (t) => spinner.update(`Deploy: ${t}`),
              (t) => spinner.log(t),
            ),
            onStages: stageUpdates(ctx.config.tty, name, (line) => spinner.update(line)),
            say: (line) => {
              // ECS's target (de)registration events: in the service's events, and with --verbose here.
              if (!config.verbose && /\) (de)?registered \d+ targets /.test(line)) return;
              spinner.log(shortenArns(line, config.verbose));
            },
            ...(config.verbose ? { onBuildLine: (line: string) => spinner.log(`  ${line}`) } : {}),
            signal: ctx.signal,
          }),
        {
          done: (r) => `${name}: run ${r.executionId.slice(0, 8)} succeeded`,
          failed: `${name}: the run did not succeed`,
        },
      );
      const r = release.rollout;
      const notes = [
        `The service runs ${release.image}, pulled from the local registry standing in for ECR, behind HAProxy standing in for the load balancer at ${release.url}.`,
        r.outcome === "unchanged"
          ? "Its tasks already ran this image: nothing to roll out."
          : `Rolling deployment: ${r.started} tasks started, ${r.stopped} stopped, in ${(r.ms / 1000).toFixed(1)} s (ECS's and the load balancer's timers run ${REHEARSAL_SPEEDUP}× faster here than on AWS).`,
      ];
      return { url: release.url, version: source.version, notes };
    },

    async appUrl() {
      return loadBalancerUrl(prefix);
    },
    narratesServiceEvents: true,
    serviceEvents(ctx) {
      return readServiceEvents(ctx.aws.logs, prefix);
    },
    healthWaitSeconds: 60,

    async monitoringDeployed(ctx) {
      // The emulator's CloudFormation skips alarms, dashboards and subscriptions (see setup/lib/local/index.ts).
      const held = await holdMonitoring(ctx.aws, monitoringStack(ctx.aws.cfn, prefix, ctx.config.aws.region));
      return `the emulator holds the alarms ${held.alarms.join(", ")}, the dashboard ${held.dashboards.join(", ")} and ${held.subscriptions.length} subscription(s), as the template defines them; the rehearsal evaluates the alarms itself while the lesson runs (each 60 s period lasts ${60 / CLOUDWATCH_SPEEDUP} s here)`;
    },
    watchAlarms: (ctx, watch) =>
      watchAlarms({
        clients: ctx.aws,
        prefix,
        accountId: EMULATOR_ACCOUNT_ID,
        region: ctx.config.aws.region,
        loadBalancer: watch.loadBalancer,
        targetGroup: watch.targetGroup,
        alarmNames: watch.alarmNames,
        speedup: CLOUDWATCH_SPEEDUP,
        onChange: watch.onChange,
      }),
    alarmPeriodSeconds: 60 / CLOUDWATCH_SPEEDUP,
    metricData: (ctx, queries, window) =>
      rehearsalMetricData({ cw: ctx.aws.cw, prefix, speedup: CLOUDWATCH_SPEEDUP }, queries, window),
    metricDataNote: `the rehearsal: the emulator's CloudWatch, percentiles from the load balancer stand-in's log; one 60 s period lasts ${60 / CLOUDWATCH_SPEEDUP} s here`,

    async finishRun(ctx, teardown) {
      if (config.keep) {
        ctx.ui.info(`The rehearsal is still running. Remove it with: bin/teardown --prefix ${prefix} --target local`);
        return;
      }
      ctx.ui.heading("", "Tear down the rehearsal");
      ctx.ui.explain(
        "A rehearsal leaves nothing behind: the stacks, the tasks, the load balancer stand-in and the emulator are removed.\nRun with --keep to look around first.",
      );
      const started = performance.now();
      await teardown();
      ctx.ui.ok(`rehearsal removed in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    },

    // A rehearsal costs nothing and is rebuilt in seconds: removed without a question.
    approveTeardown: () => Promise.resolve(true),

    teardown(ctx) {
      const { aws } = ctx;
      const ofRole = async (role: string) => (await findRehearsal(prefix)).filter((c) => c.role === role);
      return {
        async plan() {
          return (await findRehearsal(prefix)).map((c) => `container ${c.id.slice(0, 12)} (${c.role}, ${c.image})`);
        },
        otherOwnedResources: () => Promise.resolve([]),
        stopReleases: () => Promise.resolve(undefined),
        beforeMonitoring: () => releaseHeldMonitoring(aws, monitoringStack(aws.cfn, prefix, ctx.config.aws.region)),
        async afterService() {
          // Deleting the ECS service stops its tasks.
          const tasks = await ofRole("task");
          if (tasks.length === 0) return [];
          await removeContainers(tasks.map((c) => c.id));
          return [`${tasks.length} task container(s)`];
        },
        async beforeEnvironment(vpcId) {
          // The load balancer stand-in goes with the environment's load balancer.
          await removeContainers((await ofRole("proxy")).map((c) => c.id));
          // The emulator cannot delete a VPC's gateway and route tables itself (see setup/lib/local/index.ts).
          if (vpcId) await releaseVpcForDelete(aws.ec2, vpcId).catch(() => []);
        },
        async afterPipeline() {
          // The pipeline and projects the emulator holds for the stack (its CloudFormation skipped them),
          // then the registry standing in for the repository's data plane and any build left running.
          const removed = await releaseHeldPipeline(aws, pipelineName(prefix));
          const standIns = (await findRehearsal(prefix)).filter((c) => c.role === "registry" || c.role === "build");
          for (const registry of standIns.filter((c) => c.role === "registry" && c.url)) {
            const address = new URL(registry.url as string).host;
            const tags = await deleteRegistryImages(address, ecrRepositoryName(prefix));
            if (tags.length > 0)
              removed.push(
                `${tags.length} image(s) from the local registry (its layers stay cached in volume ${REGISTRY_VOLUME})`,
              );
          }
          await removeContainers(standIns.map((c) => c.id));
          // The engine's copies of the app images (built in the build container, pulled for the tasks).
          const engineImages = await removeEngineImages(ecrRepositoryName(prefix));
          if (engineImages.length > 0) removed.push(`${engineImages.length} app image(s) from the Docker engine`);
          return [...removed, ...containerNames(standIns)];
        },
        async afterBucket(bucket) {
          // The emulator reports the stack deleted but keeps the empty bucket (see setup/lib/local/index.ts).
          if (bucket) await deleteBucketLeftBehind(aws.s3, bucket);
        },
        async leftovers() {
          return (await findRehearsal(prefix))
            .filter((c) => c.role !== "emulator")
            .map((c) => `${c.role} container ${c.id.slice(0, 12)}`);
        },
        async finish(removeEmulator) {
          // Every stand-in still here (a registry or build a failed or interrupted run left), and the emulator
          // unless it is kept or is the person's own.
          const found = await findRehearsal(prefix);
          const dropEmulator = removeEmulator && !external;
          const standIns = found.filter((c) => c.role !== "emulator");
          const emulators = dropEmulator ? found.filter((c) => c.role === "emulator") : [];
          await removeContainers([...standIns, ...emulators].map((c) => c.id));
          // The tasks' network, once nothing is attached to it (the proxy and tasks are gone above).
          const network = (await removeTaskNetwork(prefix)) ? [`the task network ${taskNetwork(prefix)}`] : [];
          return {
            removed: [
              ...containerNames(standIns),
              ...network,
              ...(emulators.length > 0 ? ["the emulator container (and everything in it)"] : []),
            ],
            left: (await findRehearsal(prefix))
              .filter((c) => dropEmulator || c.role !== "emulator")
              .map((c) => `${c.role} container ${c.id.slice(0, 12)}`),
          };
        },
      };
    },
  };
}
