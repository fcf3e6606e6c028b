// Lesson 08's change to the service template (setup/lib/changes/canary-template.ts):
// the rendered result is a canary as the rehearsal and ECS read it, with the
// same health check on both target groups; a template the change no longer
// fits is refused by name. (npm run lint:cfn lints the result with cfn-lint.)
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { templateFile } from "../setup/lib/aws/naming.ts";
import { parseTemplate, renderTemplate } from "../setup/lib/aws/templates.ts";
import { CANARY, canaryServiceTemplate, withCanaryRelease } from "../setup/lib/changes/canary-template.ts";
import { serviceDefinition } from "../setup/lib/local/ecs/definition.ts";
import { targetGroupSettings } from "../setup/lib/local/elbv2/load-balancer.ts";
import { renderedEnvironment } from "./support/service-template.ts";

const PREFIX = "canary-tpl";
const original = readFileSync(templateFile("service"), "utf8");

function render(text: string) {
  const template = parseTemplate(text);
  return renderTemplate(template, {
    accountId: "123456789012",
    region: "us-east-1",
    stackName: `${PREFIX}-service`,
    parameters: { Prefix: PREFIX, ImageUri: "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1" },
    imports: {
      [`${PREFIX}-VpcId`]: "vpc-1",
      [`${PREFIX}-ListenerArn`]: "listener",
      [`${PREFIX}-ClusterName`]: "cluster",
      [`${PREFIX}-PublicSubnets`]: "a,b",
      [`${PREFIX}-TaskSecurityGroupId`]: "sg",
      [`${PREFIX}-EcsInfrastructureRoleArn`]: `arn:aws:iam::123456789012:role/${PREFIX}-ecs-infrastructure`,
    },
    resources: Object.fromEntries(
      Object.keys(template.Resources).map((id) => [id, { Ref: `arn:${id}`, Arn: `arn:${id}`, Name: id }]),
    ),
  });
}

describe("lesson 08's canary template", () => {
  const canary = render(canaryServiceTemplate(original));

  it("deploys the service by CANARY: its share, bakes, latency alarm, alternate group, rule and role", () => {
    const definition = serviceDefinition(canary, renderedEnvironment(PREFIX));
    expect(definition.strategy).toEqual({
      kind: "CANARY",
      canaryPercent: CANARY.percent,
      canaryBakeMinutes: CANARY.canaryBakeMinutes,
      bakeMinutes: CANARY.bakeMinutes,
      alarms: { names: [`${PREFIX}-latency-p90`], enable: true, rollback: true },
      alternateTargetGroupArn: "arn:AlternateTargetGroup",
      productionListenerRule: "arn:ListenerRule",
    });
    expect(definition.targetGroupArn).toBe("arn:TargetGroup");
    expect(definition.circuitBreaker).toEqual({ enable: true, rollback: true });
    const advanced = (canary.Resources.Service?.Properties?.LoadBalancers as Array<Record<string, unknown>>)[0]
      ?.AdvancedConfiguration;
    expect(advanced).toMatchObject({ RoleArn: `arn:aws:iam::123456789012:role/${PREFIX}-ecs-infrastructure` });
  });

  it("checks the new tasks' group as the old one's: the same health check and draining", () => {
    expect(targetGroupSettings(canary.Resources.AlternateTargetGroup?.Properties ?? {})).toEqual(
      targetGroupSettings(canary.Resources.TargetGroup?.Properties ?? {}),
    );
  });

  it("changes only infra/service.yaml of the source", () => {
    const files = [
      { path: "src/app.ts", content: new TextEncoder().encode("export {};\n") },
      { path: "infra/service.yaml", content: new TextEncoder().encode(original) },
    ];
    const changed = withCanaryRelease(files);
    expect(changed[0]).toBe(files[0]);
    expect(new TextDecoder().decode(changed[1]?.content)).toContain("Strategy: CANARY");
  });

  it("refuses a template it no longer fits, naming what is missing", () => {
    expect(() => canaryServiceTemplate(original.replace("TargetGroupArn: !Ref TargetGroup\n\n", "\n"))).toThrow(
      /no longer has the listener rule forwarding to TargetGroup, which lesson 08's change to a canary edits/,
    );
    // Already a canary: its rolling configuration is gone.
    expect(() => canaryServiceTemplate(canaryServiceTemplate(original))).toThrow(/no longer has/);
  });
});
