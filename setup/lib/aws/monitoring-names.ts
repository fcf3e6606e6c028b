// The names CloudWatch gives the load balancer and the target group in the
// AWS/ApplicationELB metrics' dimensions: the end of each one's ARN. The
// monitoring stack takes them as parameters (LoadBalancerFullName,
// TargetGroupFullName), from the environment's listener and the service's
// target group (the one the listener's rule forwards to: the service stack's
// own output is not read, since the emulator drops it once that stack has been
// updated).
import { DescribeRulesCommand, type ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import type { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import { StepError } from "../errors.ts";
import { stackName } from "./naming.ts";
import { describeStack, outputsOf } from "./stacks.ts";

/** "app/<name>/<id>", from the load balancer's or one of its listeners' ARN. */
export function loadBalancerFullName(arn: string): string {
  const m = /:(?:loadbalancer|listener)\/(app\/[^/]+\/[0-9a-f]+)(?:\/|$)/.exec(arn);
  if (!m?.[1])
    throw new StepError(
      `${arn} is not an Application Load Balancer's (or its listener's) ARN.`,
      "Run `bin/lesson 03` again.",
    );
  return m[1];
}

/** "targetgroup/<name>/<id>", from the target group's ARN. */
export function targetGroupFullName(arn: string): string {
  const m = /:(targetgroup\/[^/]+\/[0-9a-f]+)$/.exec(arn);
  if (!m?.[1]) throw new StepError(`${arn} is not a target group's ARN.`, "Run `bin/lesson 04` again.");
  return m[1];
}

/** The target group the listener's rule forwards to (the service's), by its ARN. */
export async function forwardedTargetGroup(elb: ElasticLoadBalancingV2Client, listenerArn: string): Promise<string> {
  const { Rules } = await elb.send(new DescribeRulesCommand({ ListenerArn: listenerArn }));
  const forwarded = (Rules ?? [])
    .filter((r) => !r.IsDefault)
    .flatMap((r) => (r.Actions ?? []).filter((a) => a.Type === "forward"))
    .map((a) => a.TargetGroupArn ?? a.ForwardConfig?.TargetGroups?.[0]?.TargetGroupArn)
    .find(Boolean);
  if (!forwarded)
    throw new StepError(
      "The load balancer forwards to no target group yet: the service is not deployed.",
      "Run `bin/lesson 04` first.",
    );
  return forwarded;
}

/** CloudWatch's names for this prefix's load balancer and the target group its rule forwards to. */
export async function alarmDimensions(
  aws: { readonly cfn: CloudFormationClient; readonly elb: ElasticLoadBalancingV2Client },
  prefix: string,
): Promise<{ loadBalancer: string; targetGroup: string }> {
  const { ListenerArn } = outputsOf(await describeStack(aws.cfn, stackName(prefix, "environment")));
  if (!ListenerArn) throw new StepError("The environment stack is missing.", "Run `bin/lesson 03` first.");
  return {
    loadBalancer: loadBalancerFullName(ListenerArn),
    targetGroup: targetGroupFullName(await forwardedTargetGroup(aws.elb, ListenerArn)),
  };
}
