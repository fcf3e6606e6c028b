// The pipeline stack's CodeBuild projects, which the emulator's CloudFormation
// skips: made in the emulator's CodeBuild exactly as the rendered template
// defines them (what AWS::CodeBuild::Project's handler does), read back by the
// CodeBuild action as CodeBuild reads its project, and removed with the stack.
import {
  BatchGetProjectsCommand,
  type CodeBuildClient,
  CreateProjectCommand,
  type CreateProjectCommandInput,
  DeleteProjectCommand,
} from "@aws-sdk/client-codebuild";
import type { Template } from "../../aws/templates.ts";
import { StepError } from "../../errors.ts";
import { apiShape, resourcesOfType } from "../cloudformation/render.ts";

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

/**
 * Stores the template's projects in the emulator, replacing any of the same
 * name. The emulator insists on a location for CODEPIPELINE sources and
 * artifacts, which AWS leaves empty (the pipeline hands them over): a
 * placeholder nothing reads. Returns their names.
 */
export async function holdProjects(cb: CodeBuildClient, template: Template): Promise<string[]> {
  const projects = projectInputs(template);
  for (const project of projects) {
    await cb.send(new DeleteProjectCommand({ name: project.name })).catch(() => undefined);
    const location = { location: `codepipeline:${project.name}` };
    await cb.send(
      new CreateProjectCommand({
        ...project,
        source: { ...location, ...project.source } as CreateProjectCommandInput["source"],
        artifacts: { ...location, ...project.artifacts } as CreateProjectCommandInput["artifacts"],
      }),
    );
  }
  return projects.map((p) => p.name as string);
}

/** Removes projects from the emulator. */
export async function releaseProjects(cb: CodeBuildClient, names: readonly string[]): Promise<void> {
  for (const name of names) await cb.send(new DeleteProjectCommand({ name }));
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
