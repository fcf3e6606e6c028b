// The pipeline as the deployed pipeline stack defines it, which the emulator's
// CloudFormation skips (see ../index.ts): the template rendered with the
// parameters it was deployed with and its resources' physical ids, stored in
// the emulator's CodePipeline (with its CodeBuild projects, see
// codebuild/projects.ts), read back from there by the local run as
// CodePipeline reads its own, and removed with the stack.
import type { CodeBuildClient } from "@aws-sdk/client-codebuild";
import {
  type CodePipelineClient,
  CreatePipelineCommand,
  DeletePipelineCommand,
  GetPipelineCommand,
  type PipelineDeclaration,
  UpdatePipelineCommand,
} from "@aws-sdk/client-codepipeline";
import type { Template } from "../../aws/templates.ts";
import { StepError } from "../../errors.ts";
import { apiShape, resourcesOfType } from "../cloudformation/render.ts";
import { holdProjects, releaseProjects } from "../codebuild/projects.ts";
import { validatePipelineStructure } from "./structure.ts";

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
  const projects = await holdProjects(clients.cb, template);
  const exists = (await heldPipeline(clients.cp, declaration.name as string)) !== undefined;
  await clients.cp.send(
    exists
      ? new UpdatePipelineCommand({ pipeline: declaration })
      : new CreatePipelineCommand({ pipeline: declaration }),
  );
  return { pipeline: declaration.name as string, projects };
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
  await releaseProjects(clients.cb, projects);
  await clients.cp.send(new DeletePipelineCommand({ name }));
  return [`pipeline ${name} and projects ${projects.join(", ")} held in the emulator`];
}
