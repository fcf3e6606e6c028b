// infra/service.yaml (and the environment) rendered as the stand-ins read
// them, for tests that need the template's real settings.
import { readFileSync } from "node:fs";
import { templateFile } from "../../setup/lib/aws/naming.ts";
import { parseTemplate, renderTemplate, type Template } from "../../setup/lib/aws/templates.ts";
import { type TargetGroupSettings, targetGroupSettings } from "../../setup/lib/local/elbv2/load-balancer.ts";

/** infra/service.yaml rendered for the default parameters, each resource's ids its logical id. */
export function renderedService(prefix: string): Template {
  const template = parseTemplate(readFileSync(templateFile("service"), "utf8"));
  const resources = Object.fromEntries(
    Object.keys(template.Resources).map((id) => [id, { Ref: id, Arn: `arn:${id}`, Name: id }]),
  );
  return renderTemplate(template, {
    accountId: "123456789012",
    region: "us-east-1",
    stackName: `${prefix}-service`,
    parameters: { Prefix: prefix, ImageUri: "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1" },
    imports: {
      [`${prefix}-VpcId`]: "vpc-1",
      [`${prefix}-ListenerArn`]: "listener",
      [`${prefix}-ClusterName`]: "cluster",
      [`${prefix}-PublicSubnets`]: "a,b",
      [`${prefix}-TaskSecurityGroupId`]: "sg",
    },
    resources,
  });
}

/** infra/environment.yaml rendered for two zones, each resource's ids its logical id. */
export function renderedEnvironment(prefix: string): Template {
  const template = parseTemplate(readFileSync(templateFile("environment"), "utf8"));
  const resources = Object.fromEntries(
    Object.keys(template.Resources).map((id) => [id, { Ref: id, Arn: `arn:${id}`, Name: id }]),
  );
  return renderTemplate(template, {
    accountId: "123456789012",
    region: "us-east-1",
    stackName: `${prefix}-environment`,
    parameters: { Prefix: prefix, ZoneA: "us-east-1a", ZoneB: "us-east-1b" },
    resources,
  });
}

/** infra/service.yaml's target group, rendered for the default parameters. */
export function serviceTargetGroup(prefix: string): TargetGroupSettings {
  return targetGroupSettings(renderedService(prefix).Resources.TargetGroup?.Properties ?? {});
}
