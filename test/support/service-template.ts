// infra/service.yaml's target group as the stand-ins read it, for tests that
// need the template's real health check and draining settings.
import { readFileSync } from "node:fs";
import { templateFile } from "../../setup/lib/aws/naming.ts";
import { parseTemplate, renderTemplate } from "../../setup/lib/aws/templates.ts";
import { type TargetGroupSettings, targetGroupSettings } from "../../setup/lib/local/elbv2/load-balancer.ts";

/** infra/service.yaml's target group, rendered for the default parameters. */
export function serviceTargetGroup(prefix: string): TargetGroupSettings {
  const template = parseTemplate(readFileSync(templateFile("service"), "utf8"));
  const resources = Object.fromEntries(
    Object.keys(template.Resources).map((id) => [id, { Ref: id, Arn: `arn:${id}`, Name: id }]),
  );
  const rendered = renderTemplate(template, {
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
  return targetGroupSettings(rendered.Resources.TargetGroup?.Properties ?? {});
}
