// The real account: credentials from the standard chain, change-set deploys
// with live progress, the pipeline doing the releases, and a teardown that
// stops the pipeline first and proves nothing tagged is left.
import { pollAlarms } from "../lib/aws/alarm-watch.ts";
import { DescribeServicesCommand } from "@aws-sdk/client-ecs";
import {
  ECS_SERVICE_LINKED_ROLE,
  ensureEcsServiceLinkedRole,
  NEW_ROLE_SETTLE_SECONDS,
  waitUntilRoleUsable,
} from "../lib/aws/account-preflight.ts";
import { awsClients } from "../lib/aws/clients.ts";
import {
  deleteReportGroups,
  deleteRepository,
  deleteTaskDefinitions,
  purgeSecrets,
  stopBuilds,
  stopPipeline,
} from "../lib/aws/cleanup.ts";
import { leftovers } from "../lib/aws/leftovers.ts";
import { getMetricData } from "../lib/aws/metric-data.ts";
import {
  codeCommitRepositoryName,
  ecrRepositoryName,
  pipelineName,
  releaseTagRuleName,
  reportGroupNames,
  stackName,
  taskFamily,
  triggerRuleName,
} from "../lib/aws/naming.ts";
import { codeCommitOwnership, refuseForeignStacks } from "../lib/aws/ownership.ts";
import { releaseRevision } from "../lib/aws/pipeline-watch.ts";
import { checkRegion, whoAmI } from "../lib/aws/preflight.ts";
import type { Config } from "../lib/config.ts";
import { ConfigError, StepError } from "../lib/errors.ts";
import { withSpinner } from "../lib/ui/narrator.ts";
import { stageUpdates } from "../lib/ui/pipeline-progress.ts";
import { deployProgress } from "../lib/ui/stack-progress.ts";
import { checkBeforeRun } from "./aws-plan.ts";
import type { Target } from "./target.ts";

export function awsTarget(config: Config): Target {
  const { prefix } = config;
  const region = config.aws.region;
  const flags = `--region ${region}`;
  return {
    kind: "aws",
    label: `AWS ${region}`,
    flags,

    clients: (aws) => awsClients(aws),

    async open() {
      const clients = awsClients(config.aws);
      const identity = await whoAmI(clients.sts, region, config.aws.profile);
      await refuseForeignStacks(clients.cfn, prefix);
      return { config, accountId: identity.accountId, callerArn: identity.arn };
    },

    refuseUnconfirmed() {
      checkRegion(region);
      if (!config.yes && !config.interactive) {
        throw new ConfigError(
          "On AWS this creates resources that cost money, and there is no terminal to ask for confirmation on.",
          "Run it at a terminal to be asked, or add --yes to confirm in advance.",
        );
      }
    },

    introduce(ui, session) {
      ui.info(`Account ${session.accountId}, region ${region}, prefix "${prefix}".`);
      ui.info(
        "This creates four CloudFormation stacks, an ECR repository and a CodeCommit repository (or source.zip),",
      );
      ui.info("and runs 2 small Fargate tasks and a load balancer: about USD 0.08 per hour until bin/teardown");
      ui.info("(us-east-1 prices), plus about USD 0.05 of CodeBuild and CodePipeline time per release.");
    },

    async plan(ctx, session) {
      await checkBeforeRun(ctx, session);
    },

    /**
     * The plan's checks (the account, the templates, your permissions), shown
     * with the confirmation; then, once confirmed, the one thing it may
     * create: ECS's service-linked role.
     */
    async approve(ctx, session, ask) {
      const preflight = await checkBeforeRun(ctx, session);
      if (config.interactive && !(await ask("Create these resources?"))) return false;
      if (preflight.ecsServiceLinkedRole === "missing") {
        const made = await ensureEcsServiceLinkedRole(ctx.aws.iam);
        ctx.ui.ok(
          `ECS service-linked role ${ECS_SERVICE_LINKED_ROLE} ${made === "created" ? "created" : "already exists"}`,
        );
        // The environment stack's cluster needs ECS to assume it, which a role seconds old may refuse.
        await withSpinner(
          ctx.ui,
          `waiting until ${ECS_SERVICE_LINKED_ROLE} is usable (a new IAM role takes about ${NEW_ROLE_SETTLE_SECONDS} s to reach every service)`,
          () => waitUntilRoleUsable(ctx.aws.iam, ECS_SERVICE_LINKED_ROLE, { signal: ctx.signal }),
          { done: () => `${ECS_SERVICE_LINKED_ROLE} is usable` },
        );
      }
      return true;
    },

    deployOptions(onLine, log) {
      return {
        pollSeconds: 5,
        maxWaitSeconds: 1800,
        onNotice: log,
        onProgress: deployProgress(config.tty, onLine, log),
      };
    },

    triesCodeCommit: config.source !== "s3",
    notes: {
      loadBalancer: (url) => `app URL: ${url}  (answers "no version deployed yet" until step 04)`,
      failedRelease:
        "In the console: CodePipeline shows the run failed at Deploy; CloudFormation shows the service stack's update failed and rolled back (UPDATE_ROLLBACK_COMPLETE); ECS shows the failed deployment in the service's Deployments and Events tabs.",
    },

    // CloudFormation made the pipeline and its projects itself.
    pipelineDeployed: () => Promise.resolve(undefined),

    async release(ctx, { source, loadBalancerUrl }) {
      const name = pipelineName(prefix);
      await withSpinner(
        ctx.ui,
        `waiting for the run of ${name} that builds ${source.revision.slice(0, 12)}`,
        (spinner) =>
          releaseRevision(ctx.aws, name, source, {
            maxWaitSeconds: 1800,
            signal: ctx.signal,
            serviceStack: stackName(prefix, "service"),
            onNotice: (text) => spinner.log(text),
            onRestart: (old, status, fresh) =>
              spinner.log(
                `run ${old.slice(0, 8)} for this revision had ${status.toLowerCase()}: started run ${fresh.slice(0, 8)}`,
              ),
            onStages: stageUpdates(ctx.config.tty, name, (line) => spinner.update(line)),
          }),
        { done: (id) => `${name}: run ${id.slice(0, 8)} succeeded`, failed: `${name}: the run did not succeed` },
      );
      if (!loadBalancerUrl)
        throw new StepError(
          "The environment's load balancer URL is not known.",
          `Run \`bin/lesson 03 ${flags}\`, then the same command again.`,
        );
      return { url: loadBalancerUrl, version: source.version, notes: [] };
    },

    appUrl(_ctx, loadBalancerUrl) {
      return Promise.resolve(loadBalancerUrl);
    },
    narratesServiceEvents: false,
    async serviceEvents(ctx) {
      // environment.yaml names the cluster <prefix>-cluster; service.yaml the service <prefix>-app.
      const prefix = ctx.config.prefix;
      const { services } = await ctx.aws.ecs.send(
        new DescribeServicesCommand({ cluster: `${prefix}-cluster`, services: [`${prefix}-app`] }),
      );
      return (services?.[0]?.events ?? []).map((e) => e.message ?? "");
    },
    healthWaitSeconds: 600,

    // CloudWatch makes the alarms, dashboard and subscriptions itself, and evaluates the alarms.
    monitoringDeployed: () => Promise.resolve(undefined),
    // Every 15 s: an alarm period is 60 s, and CloudWatch evaluates shortly after each.
    watchAlarms: (ctx, watch) =>
      pollAlarms(ctx.aws.cw, watch.alarmNames, { intervalMs: 15_000, onChange: watch.onChange }),
    alarmPeriodSeconds: 60,
    metricData: (ctx, queries, window) => getMetricData(ctx.aws.cw, queries, window),
    metricDataNote: `AWS ${region}: GetMetricData, one point a minute (the ALB publishes only while requests flow)`,

    finishRun() {
      return Promise.resolve();
    },

    async approveTeardown(ui, session, ask) {
      ui.info(`Account ${session.accountId}, region ${region}, prefix "${prefix}".`);
      return !config.interactive || ask("Delete everything with this prefix?");
    },

    teardown(ctx) {
      const { aws, ui } = ctx;
      const repository = ecrRepositoryName(prefix);
      const codeCommit = codeCommitRepositoryName(prefix);
      return {
        plan: () =>
          Promise.resolve([
            `CodeCommit repository ${codeCommit} (if any)`,
            `images in ECR repository ${repository}`,
            `inactive task definitions of ${taskFamily(prefix)}, report groups ${reportGroupNames(prefix).join(", ")}`,
          ]),
        async otherOwnedResources() {
          return [
            {
              what: `CodeCommit repository ${codeCommit}`,
              ownership: await codeCommitOwnership(aws.cc, codeCommit, prefix),
            },
          ];
        },
        async stopReleases(outputs) {
          const stopped = await stopPipeline(aws, outputs.PipelineName ?? pipelineName(prefix), [
            outputs.TriggerRuleName ?? triggerRuleName(prefix),
            outputs.ReleaseTagRuleName ?? releaseTagRuleName(prefix),
          ]);
          // Before their roles go with the pipeline stack: an abandoned run's builds go on otherwise.
          const builds = await stopBuilds(aws.cb, [
            outputs.TestProjectName ?? `${prefix}-test`,
            outputs.BuildProjectName ?? `${prefix}-build`,
          ]);
          return `pipeline stopped: ${stopped.triggerDisabled ? "trigger disabled" : "no trigger"}, ${stopped.abandoned.length} running execution(s) abandoned, ${builds.length} running build(s) stopped`;
        },
        // CloudFormation deletes the alarms, dashboard and subscriptions with the stack.
        beforeMonitoring: () => Promise.resolve([]),
        async afterService() {
          const removed: string[] = [];
          const purged = await purgeSecrets(aws.secrets, prefix);
          if (purged.length > 0) removed.push(`secret(s) ${purged.join(", ")}`);
          // Deregistered revisions stay INACTIVE and tagged until deleted.
          const revisions = await deleteTaskDefinitions(aws.ecs, taskFamily(prefix));
          if (revisions > 0) removed.push(`${revisions} inactive task definition revision(s)`);
          return removed;
        },
        beforeEnvironment: () => Promise.resolve(),
        async afterPipeline() {
          const removed: string[] = [];
          // The builds' report groups are CodeBuild's, not the pipeline stack's.
          const groups = await deleteReportGroups(aws.cb, reportGroupNames(prefix));
          if (groups.length > 0) removed.push(`report group(s) ${groups.join(", ")}`);
          await withSpinner(
            ui,
            `deleting CodeCommit repository ${codeCommit}`,
            () => deleteRepository(aws.cc, codeCommit),
            {
              done: (deleted) =>
                deleted ? `CodeCommit repository ${codeCommit} deleted` : `CodeCommit repository ${codeCommit}: none`,
            },
          ).then((deleted) => {
            if (deleted) removed.push(`CodeCommit repository ${codeCommit}`);
          });
          return removed;
        },
        afterBucket: () => Promise.resolve(),
        async leftovers(wait) {
          const found = await withSpinner(
            ui,
            "checking that nothing tagged with the prefix is left",
            () => leftovers(aws, prefix, region, { signal: ctx.signal, ...wait }),
            {
              done: (f) =>
                f.length === 0
                  ? "nothing tagged with the prefix is left"
                  : `${f.length} tagged resource(s) still exist`,
            },
          );
          return found.map((l) => `${l.arn}\n      remove it: ${l.remove}`);
        },
        finish: () => Promise.resolve({ removed: [], left: [] }),
      };
    },
  };
}
