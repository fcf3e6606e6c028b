// The pipeline and its CodeBuild projects exactly as the deployed pipeline
// stack defines them: its template, rendered with the parameters it was
// deployed with and the physical ids of its resources, then stored in the
// emulator's CodePipeline and CodeBuild, which its CloudFormation skips
// (see ../index.ts). The local run reads them back from there, as
// CodePipeline and CodeBuild read theirs on AWS.
import { readFile } from "node:fs/promises";
import {
  type CloudFormationClient,
  DescribeStackResourcesCommand,
  DescribeStacksCommand,
  ListExportsCommand,
} from "@aws-sdk/client-cloudformation";
import {
  BatchGetProjectsCommand,
  type CodeBuildClient,
  CreateProjectCommand,
  type CreateProjectCommandInput,
  DeleteProjectCommand,
} from "@aws-sdk/client-codebuild";
import {
  type CodePipelineClient,
  CreatePipelineCommand,
  DeletePipelineCommand,
  GetPipelineCommand,
  type PipelineDeclaration,
  UpdatePipelineCommand,
} from "@aws-sdk/client-codepipeline";
import { StepError } from "../../errors.ts";
import { parseTemplate, renderTemplate, type Template } from "../../aws/templates.ts";
import { validatePipelineStructure } from "./structure.ts";

/** Ref and GetAtt Arn of the resource types the pipeline template refers to. */
function attributes(type: string, id: string, accountId: string, region: string): Record<string, string> {
  const arn: Record<string, string> = {
    "AWS::IAM::Role": `arn:aws:iam::${accountId}:role/${id}`,
    "AWS::ECR::Repository": `arn:aws:ecr:${region}:${accountId}:repository/${id}`,
    "AWS::Logs::LogGroup": `arn:aws:logs:${region}:${accountId}:log-group:${id}:*`,
    "AWS::CodeBuild::Project": `arn:aws:codebuild:${region}:${accountId}:project/${id}`,
    "AWS::Events::Rule": `arn:aws:events:${region}:${accountId}:rule/${id}`,
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
function apiShape(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(apiShape);
  if (typeof value !== "object" || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    const camel = API_NAMES[key] ?? key.charAt(0).toLowerCase() + key.slice(1);
    out[camel] = key === "Configuration" ? inner : apiShape(inner);
  }
  return out;
}

function resourcesOfType(template: Template, type: string) {
  return Object.entries(template.Resources).filter(([, r]) => r.Type === type);
}

/** The pipeline declaration from the rendered template's AWS::CodePipeline::Pipeline. */
export function pipelineDeclaration(template: Template): PipelineDeclaration {
  const found = resourcesOfType(template, "AWS::CodePipeline::Pipeline");
  if (found.length !== 1)
    throw new StepError(
      `The pipeline template declares ${found.length} pipelines; the rehearsal runs exactly one.`,
      "Check infra/pipeline.yaml.",
    );
  const p = (found[0] as [string, { Properties?: Record<string, unknown> }])[1].Properties ?? {};
  const shaped = apiShape(p) as Record<string, unknown>;
  return {
    name: shaped.name as string,
    roleArn: shaped.roleArn as string,
    artifactStore: shaped.artifactStore as PipelineDeclaration["artifactStore"],
    stages: shaped.stages as PipelineDeclaration["stages"],
    ...(shaped.pipelineType ? { pipelineType: shaped.pipelineType as PipelineDeclaration["pipelineType"] } : {}),
    ...(shaped.variables ? { variables: shaped.variables as PipelineDeclaration["variables"] } : {}),
  };
}

function projectInputs(template: Template): CreateProjectCommandInput[] {
  return resourcesOfType(template, "AWS::CodeBuild::Project").map(([, r]) => {
    const p = apiShape(r.Properties ?? {}) as Record<string, unknown>;
    return {
      name: p.name as string,
      ...(p.description ? { description: p.description as string } : {}),
      source: p.source as CreateProjectCommandInput["source"],
      artifacts: p.artifacts as CreateProjectCommandInput["artifacts"],
      environment: p.environment as CreateProjectCommandInput["environment"],
      serviceRole: p.serviceRole as string,
      ...(p.timeoutInMinutes ? { timeoutInMinutes: Number(p.timeoutInMinutes) } : {}),
    };
  });
}

export interface HeldPipeline {
  readonly pipeline: string;
  readonly projects: readonly string[];
}

/**
 * Stores the rendered pipeline and projects in the emulator, after checking
 * the pipeline's structure as CodePipeline does on create (so a structure AWS
 * would refuse fails here, at the same step). Idempotent: an existing
 * pipeline is updated, projects are replaced.
 */
export async function holdPipeline(
  clients: { readonly cp: CodePipelineClient; readonly cb: CodeBuildClient },
  template: Template,
): Promise<HeldPipeline> {
  const declaration = pipelineDeclaration(template);
  validatePipelineStructure(declaration);
  const projects = projectInputs(template);
  for (const project of projects) {
    await clients.cb.send(new DeleteProjectCommand({ name: project.name })).catch(() => undefined);
    // The emulator insists on a location for CODEPIPELINE sources and artifacts, which AWS leaves
    // empty (the pipeline hands them over); a placeholder nothing reads.
    const location = { location: `codepipeline:${project.name}` };
    await clients.cb.send(
      new CreateProjectCommand({
        ...project,
        source: { ...location, ...project.source } as CreateProjectCommandInput["source"],
        artifacts: { ...location, ...project.artifacts } as CreateProjectCommandInput["artifacts"],
      }),
    );
  }
  const exists = (await heldPipeline(clients.cp, declaration.name as string)) !== undefined;
  await clients.cp.send(
    exists
      ? new UpdatePipelineCommand({ pipeline: declaration })
      : new CreatePipelineCommand({ pipeline: declaration }),
  );
  return { pipeline: declaration.name as string, projects: projects.map((p) => p.name as string) };
}

/** The pipeline as the emulator holds it; undefined when it holds none by that name. */
async function heldPipeline(cp: CodePipelineClient, name: string): Promise<PipelineDeclaration | undefined> {
  try {
    return (await cp.send(new GetPipelineCommand({ name }))).pipeline;
  } catch (error) {
    if ((error as Error).name === "PipelineNotFoundException") return undefined;
    throw error;
  }
}

/** The pipeline, read back from the emulator. */
export async function readHeldPipeline(
  clients: { readonly cp: CodePipelineClient },
  name: string,
): Promise<PipelineDeclaration> {
  const pipeline = await heldPipeline(clients.cp, name);
  if (!pipeline) {
    throw new StepError(
      `The pipeline ${name} is not in the emulator.`,
      "Run `bin/lesson 03 --target local` to deploy the pipeline stack, then the same command again.",
    );
  }
  return pipeline;
}

export async function readProject(cb: CodeBuildClient, name: string) {
  const { projects } = await cb.send(new BatchGetProjectsCommand({ names: [name] }));
  const project = projects?.[0];
  if (!project)
    throw new StepError(
      `The CodeBuild project ${name} is not in the emulator.`,
      "Run `bin/lesson 03 --target local` again.",
    );
  return project;
}

/**
 * Removes what holdPipeline stored: the pipeline and the projects its actions
 * name. Teardown calls it once the pipeline stack is gone. Returns what it removed.
 */
export async function releaseHeldPipeline(
  clients: { readonly cp: CodePipelineClient; readonly cb: CodeBuildClient },
  name: string,
): Promise<string[]> {
  const pipeline = await heldPipeline(clients.cp, name);
  if (!pipeline) return [];
  const projects = (pipeline.stages ?? [])
    .flatMap((s) => s.actions ?? [])
    .filter((a) => a.actionTypeId?.provider === "CodeBuild" && a.configuration?.ProjectName)
    .map((a) => a.configuration?.ProjectName as string);
  for (const project of projects) await clients.cb.send(new DeleteProjectCommand({ name: project }));
  await clients.cp.send(new DeletePipelineCommand({ name }));
  return [`pipeline ${name} and projects ${projects.join(", ")} held in the emulator`];
}
