// Lesson 08's first change, to the service template itself: the service moves
// from ECS's rolling deployment to a canary - a second target group for the
// new tasks, the listener rule forwarding to both (weights 1 and 0, which ECS
// then shifts), the load balancer's AdvancedConfiguration naming the
// alternate group, the rule and the role ECS assumes to shift traffic
// (pipeline.yaml makes it), and lesson 07's latency alarm rolling a release
// back. A text edit at known places, so the learner's diff reads as a person
// would write it; a template that no longer has them is refused.
import type { SourceFile } from "../aws/source.ts";

export const SERVICE_TEMPLATE = "infra/service.yaml";

/** The canary's settings, chosen for a workshop on AWS (see docs/lessons/08-release-to-a-few-first.md). */
export const CANARY = {
  /** A fifth of production: enough requests for the p90 to move within a minute. */
  percent: 20,
  /** Long enough for the latency alarm (2 of 3 one-minute periods, published a minute late) to go off. */
  canaryBakeMinutes: 5,
  /** After all of production moved: old tasks kept for a quick flip back. */
  bakeMinutes: 2,
} as const;

const RULE_FORWARD = `      Actions:
        - Type: forward
          TargetGroupArn: !Ref TargetGroup
`;

const RULE_WEIGHTED = `      # Both target groups, weights 1 and 0: ECS moves the weights during a canary release. Change this
      # rule only between releases - a stack update that changes it resets the weights ECS set, and can
      # send production to the group with no tasks.
      Actions:
        - Type: forward
          ForwardConfig:
            TargetGroups:
              - TargetGroupArn: !Ref TargetGroup
                Weight: 1
              - TargetGroupArn: !Ref AlternateTargetGroup
                Weight: 0
`;

const LOAD_BALANCERS = `      LoadBalancers:
        - ContainerName: app
          ContainerPort: !Ref ContainerPort
          TargetGroupArn: !Ref TargetGroup
`;

const LOAD_BALANCERS_CANARY = `${LOAD_BALANCERS}          # Where a release's new tasks start, the rule whose weights ECS shifts, and the role it shifts them with.
          AdvancedConfiguration:
            AlternateTargetGroupArn: !Ref AlternateTargetGroup
            ProductionListenerRule: !Ref ListenerRule
            RoleArn:
              Fn::ImportValue: !Sub "\${Prefix}-EcsInfrastructureRoleArn"
`;

const ROLLING = /^ {6}# Zero-downtime rolling deploys[^\n]*\n {6}DeploymentConfiguration:\n(?: {8}[^\n]*\n)+/m;

const CANARY_CONFIGURATION = `      # A canary: the new tasks start beside the old ones, take ${CANARY.percent} % of production for
      # ${CANARY.canaryBakeMinutes} minutes, then all of it; the old tasks stay ${CANARY.bakeMinutes} more minutes. If the latency alarm goes
      # off meanwhile, ECS sends production back to the old tasks and stops the new ones.
      DeploymentConfiguration:
        Strategy: CANARY
        CanaryConfiguration:
          CanaryPercent: ${CANARY.percent}
          CanaryBakeTimeInMinutes: ${CANARY.canaryBakeMinutes}
        BakeTimeInMinutes: ${CANARY.bakeMinutes}
        Alarms:
          AlarmNames:
            - !Sub "\${Prefix}-latency-p90"
          Enable: true
          Rollback: true
        DeploymentCircuitBreaker:
          Enable: true
          Rollback: true
`;

// The AdvancedConfiguration's Ref to the rule orders the service after it; the explicit DependsOn goes.
const DEPENDS_ON_RULE =
  "    # The target group must be attached to the load balancer before a service can use it.\n    DependsOn: ListenerRule\n";

const SERVICE_DESCRIPTION = "Fargate service keeping the tasks running, replacing them one by one on a new release";
const SERVICE_DESCRIPTION_CANARY =
  "Fargate service keeping the tasks running, releasing to a fifth of production first (a canary)";

/** The template's own target group block, from its key to the next resource. */
const TARGET_GROUP = /^ {2}TargetGroup:\n(?: {4}[^\n]*\n|\n)+?(?=^ {2}\S)/m;

/** infra/service.yaml's text with the service deployed by canary; throws naming what is no longer there. */
export function canaryServiceTemplate(text: string): string {
  const missing = (what: string) =>
    new Error(`${SERVICE_TEMPLATE} no longer has ${what}, which lesson 08's change to a canary edits`);
  const group = TARGET_GROUP.exec(text)?.[0];
  if (!group) throw missing("the TargetGroup resource");
  if (!text.includes(RULE_FORWARD)) throw missing("the listener rule forwarding to TargetGroup");
  if (!text.includes(LOAD_BALANCERS)) throw missing("the service's LoadBalancers naming TargetGroup");
  if (!ROLLING.test(text)) throw missing("the rolling DeploymentConfiguration");
  if (!text.includes(SERVICE_DESCRIPTION)) throw missing("the service's description");
  if (!text.includes(DEPENDS_ON_RULE)) throw missing("the service's DependsOn: ListenerRule");
  const alternate = group
    .replace(/^ {2}TargetGroup:/, "  AlternateTargetGroup:")
    .replace(
      /Description: [^\n]*/,
      "Description: Second target group - where a canary release's new tasks start, then take over",
    );
  return text
    .replace(group, `${group}${alternate}`)
    .replace(RULE_FORWARD, RULE_WEIGHTED)
    .replace(LOAD_BALANCERS, LOAD_BALANCERS_CANARY)
    .replace(ROLLING, CANARY_CONFIGURATION)
    .replace(SERVICE_DESCRIPTION, SERVICE_DESCRIPTION_CANARY)
    .replace(DEPENDS_ON_RULE, "");
}

/** The source with infra/service.yaml deployed by canary. */
export function withCanaryRelease(files: readonly SourceFile[]): SourceFile[] {
  return files.map((f) =>
    f.path === SERVICE_TEMPLATE
      ? {
          path: f.path,
          content: new TextEncoder().encode(canaryServiceTemplate(new TextDecoder().decode(f.content))),
        }
      : f,
  );
}
