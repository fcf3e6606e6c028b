// The names CloudWatch gives the load balancer and the target group in the
// AWS/ApplicationELB metrics' dimensions: the end of each one's ARN. The
// monitoring stack takes them as parameters (LoadBalancerFullName,
// TargetGroupFullName), from the environment's listener and the service's
// target group.
import { StepError } from "../errors.ts";

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
