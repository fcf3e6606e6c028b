// The production listener rule's weighted forward, as ECS reads and shifts it
// in a blue/green or canary deployment (DescribeRules, ModifyRule): in the
// emulator, which stores weighted forward actions, so what the rule says is
// what the load balancer stand-in applies (load-balancer.ts applyGroupWeights).
import {
  DescribeRulesCommand,
  type ElasticLoadBalancingV2Client,
  ModifyRuleCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { StepError } from "../../errors.ts";

/** Each target group's share of the rule's requests, in percent (weights 1 and 0 are 100 and 0). */
export async function ruleWeights(elb: ElasticLoadBalancingV2Client, ruleArn: string): Promise<Record<string, number>> {
  const { Rules } = await elb.send(new DescribeRulesCommand({ RuleArns: [ruleArn] }));
  const forward = Rules?.[0]?.Actions?.find((a) => a.Type === "forward");
  const groups = forward?.ForwardConfig?.TargetGroups ?? [];
  const weighted =
    groups.length > 0 ? groups : forward?.TargetGroupArn ? [{ TargetGroupArn: forward.TargetGroupArn }] : [];
  if (weighted.length === 0)
    throw new StepError(`The listener rule ${ruleArn} forwards to no target group.`, "Check infra/service.yaml.");
  const total = weighted.reduce((sum, g) => sum + (g.Weight ?? 1), 0);
  return Object.fromEntries(
    weighted.map((g) => [g.TargetGroupArn ?? "", total > 0 ? Math.round(((g.Weight ?? 1) * 100) / total) : 0]),
  );
}

/** Sets the rule's forward weights (ModifyRule), as ECS does at each traffic shift. */
export async function setRuleWeights(
  elb: ElasticLoadBalancingV2Client,
  ruleArn: string,
  weights: Readonly<Record<string, number>>,
): Promise<void> {
  await elb.send(
    new ModifyRuleCommand({
      RuleArn: ruleArn,
      Actions: [
        {
          Type: "forward",
          ForwardConfig: {
            TargetGroups: Object.entries(weights).map(([TargetGroupArn, Weight]) => ({ TargetGroupArn, Weight })),
          },
        },
      ],
    }),
  );
}

/**
 * The listener rule as a stack update leaves it, which the emulator's
 * CloudFormation does not do (it keeps a rule's first actions): when the
 * template forwards to other target groups than the rule does, the
 * template's forward is applied, as CloudFormation would apply the changed
 * property; when it forwards to the same groups, the weights are left as they
 * are (ECS's, during and after a canary). Returns the rule's ARN, and whether
 * it was changed.
 */
export async function applyTemplateForward(
  elb: ElasticLoadBalancingV2Client,
  rule: { readonly listenerArn: string; readonly priority: number; readonly forward: Readonly<Record<string, number>> },
): Promise<{ arn: string; changed: boolean } | undefined> {
  const { Rules } = await elb.send(new DescribeRulesCommand({ ListenerArn: rule.listenerArn }));
  const found = (Rules ?? []).find((r) => Number(r.Priority) === rule.priority);
  if (!found?.RuleArn) return undefined;
  const forward = found.Actions?.find((a) => a.Type === "forward");
  const groups = new Set(
    (forward?.ForwardConfig?.TargetGroups ?? []).map((g) => g.TargetGroupArn).concat(forward?.TargetGroupArn ?? []),
  );
  const wanted = Object.keys(rule.forward);
  const same = groups.size === wanted.length && wanted.every((arn) => groups.has(arn));
  if (same || wanted.length === 0) return { arn: found.RuleArn, changed: false };
  const total = Object.values(rule.forward).reduce((a, b) => a + b, 0);
  await setRuleWeights(
    elb,
    found.RuleArn,
    Object.fromEntries(
      Object.entries(rule.forward).map(([arn, w]) => [arn, total > 0 ? Math.round((w * 100) / total) : 0]),
    ),
  );
  return { arn: found.RuleArn, changed: true };
}
