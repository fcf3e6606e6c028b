// AWS::ECS::Service's handler in the rehearsal: once the emulator has
// recorded the service stack's change, the service runs as ECS runs it - the
// task definition's image pulled from the local registry (as a Fargate task
// pulls from ECR), the load balancer stand-in configured from the listener and
// target group, the tasks rolled out (service.ts) - and the stack operation
// completes only when the service is steady, as CloudFormation waits for it.
// A deployment the circuit breaker rolled back fails the operation with the
// handler's message. The service's events are kept where the lessons read them.
import type { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import type { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import type { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import type { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { StepError } from "../../errors.ts";
import { REHEARSAL_SPEEDUP } from "../clock.ts";
import type { HandlerFailure, ResourceProvider } from "../cloudformation/providers.ts";
import { pullImage } from "../engine/client.ts";
import { ensureLoadBalancer } from "../elbv2/load-balancer.ts";
import { applyTemplateForward } from "../elbv2/rule-weights.ts";
import { secretValue } from "../secretsmanager/secrets.ts";
import type { CanaryResult } from "./canary.ts";
import { readServiceDefinition } from "./definition.ts";
import { recordServiceEvents } from "./events.ts";
import { rollOutService, type RolloutResult } from "./service.ts";

export interface ServiceProviderDeps {
  readonly prefix: string;
  readonly region: string;
  readonly accountId: string;
  /** The load balancer stand-in's image. */
  readonly proxyImage: string;
  readonly clients: {
    readonly cfn: CloudFormationClient;
    readonly secrets: SecretsManagerClient;
    readonly logs: CloudWatchLogsClient;
    /** A canary's production rule and alarms. */
    readonly elb: ElasticLoadBalancingV2Client;
    readonly cw: CloudWatchClient;
  };
}

/** How the service was last rolled out, and where it answers. */
export interface ServiceRollout {
  /** The app's URL: the listener of the load balancer stand-in, on 127.0.0.1. */
  readonly url: string;
  /** The task definition's image. */
  readonly image: string;
  readonly result: RolloutResult;
}

export interface ServiceProvider extends ResourceProvider {
  /** The last rollout this provider ran, once it has run. */
  readonly last: ServiceRollout | undefined;
}

export function ecsServiceProvider(deps: ServiceProviderDeps): ServiceProvider {
  let last: ServiceRollout | undefined;
  return {
    type: "AWS::ECS::Service",
    get last() {
      return last;
    },
    async complete({ stackName, template, templateFile, say, signal }): Promise<HandlerFailure | undefined> {
      const { cfn, secrets, logs, elb, cw } = deps.clients;
      const service = await readServiceDefinition(
        { cfn, secrets, elb },
        deps.prefix,
        deps.accountId,
        deps.region,
        stackName,
        templateFile,
      );
      try {
        await pullImage(service.container.image);
      } catch (error) {
        throw new StepError(
          `The service's image ${service.container.image} could not be pulled from the local registry: ${(error as Error).message}`,
          "Run the same command again; if the registry was removed, `bin/teardown --target local` first.",
          error,
        );
      }
      // The listener rule as the stack update leaves it (the emulator's CloudFormation keeps its first actions).
      if (service.rule) {
        const applied = await applyTemplateForward(elb, service.rule);
        if (applied?.changed)
          say(
            "the rehearsal applied the listener rule's forward as the template defines it, as CloudFormation's update of the rule would",
          );
      }
      const lb = await ensureLoadBalancer({
        prefix: deps.prefix,
        image: deps.proxyImage,
        listener: service.listener,
        targetGroup: service.targetGroup,
        speedup: REHEARSAL_SPEEDUP,
      });
      const secretValues: Record<string, string> = {};
      for (const [variable, arn] of Object.entries(service.container.secrets))
        secretValues[variable] = await secretValue(secrets, arn);
      const events: string[] = [];
      const result = await rollOutService({
        prefix: deps.prefix,
        service,
        secretValues,
        network: lb.network,
        speedup: REHEARSAL_SPEEDUP,
        // The task's memory limit as on Fargate. Its CPU share (0.25 vCPU) is not applied: beside the
        // builds on a small machine it would make start-up times, and so health checks, unpredictable.
        memoryMiB: service.memoryMiB,
        lb,
        elb,
        cw,
        say: (event) => {
          events.push(event);
          say(event);
        },
        onWaiting: say,
        ...(signal ? { signal } : {}),
      }).finally(() => recordServiceEvents(logs, deps.prefix, events));
      last = { url: lb.url, image: service.container.image, result };
      if (result.outcome !== "rolled back") return undefined;
      const logicalId =
        Object.entries(template.Resources).find(([, r]) => r.Type === "AWS::ECS::Service")?.[0] ?? "Service";
      const alarm = (result as CanaryResult).rollbackReason?.startsWith("alarm ");
      if (alarm)
        // No AWS reference quotes the handler's message for an alarm's rollback: this says what happened.
        return {
          logicalId,
          description: "the ECS service",
          message: "ECS deployment failed: alarm detected",
          detail: `(${(result as CanaryResult).rollbackReason}; production is back on the previous tasks)`,
        };
      return {
        logicalId,
        description: "the ECS service",
        message: "ECS Deployment Circuit Breaker was triggered",
        detail: `(${result.failedTasks} tasks failed)`,
        ...(result.failures.length > 0
          ? { log: { source: "the failed tasks' logs", lines: result.failures.join("\n").split("\n").slice(-20) } }
          : {}),
      };
    },
  };
}
