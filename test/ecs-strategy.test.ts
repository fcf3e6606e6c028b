// The service's deployment strategy as the rehearsal reads it from the
// rendered template (setup/lib/local/ecs/definition.ts): ROLLING as
// infra/service.yaml is, CANARY with its settings, and what ECS refuses of a
// canary refused in ECS's words.
import { describe, expect, it } from "vitest";
import type { Template } from "../setup/lib/aws/templates.ts";
import { StepError } from "../setup/lib/errors.ts";
import { serviceDefinition } from "../setup/lib/local/ecs/definition.ts";
import { renderedEnvironment, renderedService } from "./support/service-template.ts";

const PREFIX = "strategy-test";
const GREEN = "arn:TargetGroupGreen";

interface ServiceProperties {
  DeploymentConfiguration: Record<string, unknown>;
  LoadBalancers: Array<Record<string, unknown>>;
}
interface RuleProperties {
  Actions: unknown[];
}

/** The rendered template with the service deployed by CANARY, as lesson 08's change makes it. */
function canary(change: (service: ServiceProperties, rule: RuleProperties) => void = () => {}): Template {
  const template = structuredClone(renderedService(PREFIX));
  const service = template.Resources.Service?.Properties as unknown as ServiceProperties;
  const rule = template.Resources.ListenerRule?.Properties as unknown as RuleProperties;
  service.DeploymentConfiguration = {
    ...service.DeploymentConfiguration,
    Strategy: "CANARY",
    BakeTimeInMinutes: 2,
    CanaryConfiguration: { CanaryPercent: 20, CanaryBakeTimeInMinutes: 3 },
    Alarms: { AlarmNames: [`${PREFIX}-latency-p90`], Enable: true, Rollback: true },
  };
  (service.LoadBalancers[0] ?? {}).AdvancedConfiguration = {
    AlternateTargetGroupArn: GREEN,
    ProductionListenerRule: "arn:ListenerRule",
    RoleArn: "arn:aws:iam::123456789012:role/strategy-test-ecs-infrastructure",
  };
  rule.Actions = [
    {
      Type: "forward",
      ForwardConfig: {
        TargetGroups: [
          { TargetGroupArn: "TargetGroup", Weight: 1 },
          { TargetGroupArn: GREEN, Weight: 0 },
        ],
      },
    },
  ];
  change(service, rule);
  return template;
}

const read = (template: Template) => serviceDefinition(template, renderedEnvironment(PREFIX));

describe("the service's deployment strategy", () => {
  it("is ROLLING as infra/service.yaml stands", () => {
    expect(read(renderedService(PREFIX)).strategy).toEqual({ kind: "ROLLING" });
  });

  it("is CANARY with the template's share, bake times, alarms and alternate target group", () => {
    const definition = read(canary());
    expect(definition.strategy).toEqual({
      kind: "CANARY",
      canaryPercent: 20,
      canaryBakeMinutes: 3,
      bakeMinutes: 2,
      alarms: { names: [`${PREFIX}-latency-p90`], enable: true, rollback: true },
      alternateTargetGroupArn: GREEN,
      productionListenerRule: "arn:ListenerRule",
    });
    // The service's own target group comes from its LoadBalancers, not the rule (which forwards to two).
    expect(definition.targetGroupArn).toBe("TargetGroup");
  });

  it("takes ECS's defaults where the canary settings are left out", () => {
    const definition = read(canary((service) => delete service.DeploymentConfiguration.CanaryConfiguration));
    expect(definition.strategy).toMatchObject({ canaryPercent: 5, canaryBakeMinutes: 10 });
  });

  it("refuses a canary whose rule does not forward to both target groups, in ECS's words", () => {
    const oneGroup = canary((_service, rule) => {
      rule.Actions = [{ Type: "forward", TargetGroupArn: "TargetGroup" }];
    });
    expect(() => read(oneGroup)).toThrow(StepError);
    expect(() => read(oneGroup)).toThrow(
      "Invalid request provided: For Application LoadBalancer, testListenerRule is required when productionListenerRule is not associated with both targetGroup and alternateTargetGroup.",
    );
  });

  it("refuses a canary without the load balancer's AdvancedConfiguration, in ECS's words", () => {
    const plain = canary((service) => delete service.LoadBalancers[0]?.AdvancedConfiguration);
    expect(() => read(plain)).toThrow(/advancedConfiguration field is required for all loadBalancers/);
  });

  it("names BLUE_GREEN and LINEAR as AWS's only: the rehearsal walks ROLLING and CANARY", () => {
    const blueGreen = canary((service) => (service.DeploymentConfiguration.Strategy = "BLUE_GREEN"));
    expect(() => read(blueGreen)).toThrow(/BLUE_GREEN: the rehearsal walks ROLLING and CANARY deployments only/);
  });
});
