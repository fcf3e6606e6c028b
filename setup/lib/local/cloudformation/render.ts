// A deployed stack's template as CloudFormation resolved it: the template
// file it was deployed from (the emulator's GetTemplate answers with XML it
// does not escape, which breaks on a template holding "<"), the parameters it
// was deployed with and its resources' physical ids. The stand-ins read what
// they run from it, as AWS's services read their resources.
import { readFile } from "node:fs/promises";
import {
  type CloudFormationClient,
  DescribeStackResourcesCommand,
  DescribeStacksCommand,
  ListExportsCommand,
} from "@aws-sdk/client-cloudformation";
import { parseTemplate, renderTemplate, type Template } from "../../aws/templates.ts";

/** Ref and GetAtt Arn of the resource types the templates refer to. */
function attributes(type: string, id: string, accountId: string, region: string): Record<string, string> {
  const arn: Record<string, string> = {
    "AWS::IAM::Role": `arn:aws:iam::${accountId}:role/${id}`,
    "AWS::ECR::Repository": `arn:aws:ecr:${region}:${accountId}:repository/${id}`,
    "AWS::Logs::LogGroup": `arn:aws:logs:${region}:${accountId}:log-group:${id}:*`,
    "AWS::CodeBuild::Project": `arn:aws:codebuild:${region}:${accountId}:project/${id}`,
    "AWS::Events::Rule": `arn:aws:events:${region}:${accountId}:rule/${id}`,
    // A queue's id is its URL, which ends with its name.
    "AWS::SQS::Queue": `arn:aws:sqs:${region}:${accountId}:${id.split("/").pop()}`,
  };
  // Name: the last part of an ARN-shaped id (an ECS service's GetAtt Name), else the id.
  return { Ref: id, Name: id.split("/").pop() ?? id, ...(arn[type] ? { Arn: arn[type] } : { Arn: id }) };
}

/**
 * The deployed stack's template as CloudFormation resolved it: the template
 * file it was deployed from (the emulator's GetTemplate answers with XML it
 * does not escape, which breaks on a template holding "<"), the parameters it
 * was deployed with and its resources' physical ids.
 */
export async function renderDeployedStack(
  cfn: CloudFormationClient,
  stackName: string,
  templateFile: string,
  accountId: string,
  region: string,
  /** Resources the emulator's CloudFormation skipped, as a stand-in made them (see ../index.ts). */
  standIns: Readonly<Record<string, Readonly<Record<string, string>>>> = {},
): Promise<Template> {
  const [text, { Stacks }, { StackResources }, { Exports }] = await Promise.all([
    readFile(templateFile, "utf8"),
    cfn.send(new DescribeStacksCommand({ StackName: stackName })),
    cfn.send(new DescribeStackResourcesCommand({ StackName: stackName })),
    cfn.send(new ListExportsCommand({})),
  ]);
  const imports: Record<string, string> = {};
  for (const e of Exports ?? []) if (e.Name && e.Value !== undefined) imports[e.Name] = e.Value;
  const template = parseTemplate(text);
  const parameters: Record<string, string> = {};
  for (const p of Stacks?.[0]?.Parameters ?? [])
    if (p.ParameterKey) parameters[p.ParameterKey] = p.ParameterValue ?? "";
  const resources: Record<string, Readonly<Record<string, string>>> = { ...standIns };
  for (const r of StackResources ?? []) {
    if (r.LogicalResourceId && r.PhysicalResourceId)
      resources[r.LogicalResourceId] = attributes(r.ResourceType ?? "", r.PhysicalResourceId, accountId, region);
  }
  // The emulator's DescribeStackResources loses resources of a stack updated more than once (see
  // ../index.ts): such a resource is named for what it is, never given a made-up id.
  for (const id of Object.keys(template.Resources)) {
    const lost = `${id} of ${stackName} (its id lost by the emulator)`;
    resources[id] ??= { Ref: lost, Arn: lost, Name: lost };
  }
  return renderTemplate(template, { accountId, region, stackName, parameters, resources, imports });
}

/** Where the API's name is not simply the property's name in camelCase. */
const API_NAMES: Readonly<Record<string, string>> = { BuildSpec: "buildspec" };

/** CloudFormation's PascalCase properties as the API's camelCase, leaving provider configuration as written. */
export function apiShape(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(apiShape);
  if (typeof value !== "object" || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    const camel = API_NAMES[key] ?? key.charAt(0).toLowerCase() + key.slice(1);
    out[camel] = key === "Configuration" ? inner : apiShape(inner);
  }
  return out;
}

/** The rendered template's resources of one type, with their logical ids. */
export function resourcesOfType(template: Template, type: string) {
  return Object.entries(template.Resources).filter(([, r]) => r.Type === type);
}
