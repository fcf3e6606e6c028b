// The CodeBuild action: the project as the emulator holds it, its buildspec
// run by the build stand-in (codebuild/) on the action's primary input, with
// CodeBuild's environment. Around the build, ECR's data plane: the registry
// and the emulator's ECR are made to hold the same images before it, and what
// it pushed is shown in ECR after it.
import type { CodeBuildClient, EnvironmentVariable } from "@aws-sdk/client-codebuild";
import type { ECRClient } from "@aws-sdk/client-ecr";
import { runBuild } from "../../codebuild/build.ts";
import {
  codebuildVariables,
  ecrVariables,
  newBuildId,
  rehearsalOverrides,
  type StandIns,
  variablesOf,
} from "../../codebuild/environment.ts";
import { readProject } from "../../codebuild/projects.ts";
import { mirrorRegistryToEcr, reconcileRegistryWithEcr } from "../../ecr/mirror.ts";
import { primeRepository, rememberLayers } from "../../ecr/registry.ts";
import { failed, unzipArtifact } from "../artifacts.ts";
import type { ActionProvider } from "../run.ts";
import type { Revisions } from "./s3-source.ts";

export interface CodeBuildActionDeps extends StandIns {
  readonly prefix: string;
  readonly region: string;
  readonly accountId: string;
  readonly buildImage: string;
  readonly clients: { readonly cb: CodeBuildClient; readonly ecr: ECRClient };
  /** Every line of every build log, as it is written. */
  readonly onBuildLine?: (line: string) => void;
}

export function codeBuildAction(deps: CodeBuildActionDeps, revisions: Revisions): ActionProvider {
  let buildNumber = 0;
  return async (run) => {
    const project = await readProject(deps.clients.cb, run.configuration.ProjectName ?? "");
    const primaryName = run.configuration.PrimarySource ?? run.inputs[0]?.name;
    const primary = run.inputs.find((i) => i.name === primaryName);
    if (!primary) return failed(`the CodeBuild action has no input artifact${primaryName ? ` ${primaryName}` : ""}`);
    if (run.inputs.length > 1) return failed("secondary input artifacts are not something the build stand-in can do");
    const projectVariables = project.environment?.environmentVariables ?? [];
    const unsupported = projectVariables.find((v) => (v.type ?? "PLAINTEXT") !== "PLAINTEXT");
    if (unsupported)
      return failed(`${unsupported.name}: ${unsupported.type} variables are not something the build stand-in can do`);
    const actionVariables = JSON.parse(run.configuration.EnvironmentVariables ?? "[]") as EnvironmentVariable[];
    const projectName = project.name ?? "?";
    const buildId = newBuildId(projectName);
    const pushedTo = ecrVariables(projectVariables);
    const repositories = pushedTo.map((v) => v.repository);
    for (const repository of repositories) {
      for (const dropped of await reconcileRegistryWithEcr(deps.clients.ecr, deps.registry, repository))
        run.say(`dropped ${dropped}: the registry and the emulator's ECR must hold the same images`);
      await primeRepository(deps.registry, repository);
    }
    const source = unzipArtifact(await run.readArtifact(primary), primary.name);
    const result = await runBuild({
      prefix: deps.prefix,
      image: deps.buildImage,
      projectName,
      buildspecFile: project.source?.buildspec ?? "buildspec.yml",
      timeoutMinutes: project.timeoutInMinutes ?? 60,
      source,
      environment: [
        codebuildVariables(buildId, {
          projectName,
          buildNumber: ++buildNumber,
          region: deps.region,
          accountId: deps.accountId,
          projectImage: project.environment?.image ?? "",
          initiator: `codepipeline/${run.pipelineName}`,
          sourceVersion: `arn:aws:s3:::${primary.bucket}/${primary.key}`,
          resolvedSourceVersion: revisions.get(primary.name) ?? "",
        }),
        variablesOf(projectVariables),
        variablesOf(actionVariables),
        rehearsalOverrides(deps, pushedTo),
      ],
      ...(deps.onBuildLine ? { onLine: deps.onBuildLine } : {}),
      ...(run.signal ? { signal: run.signal } : {}),
    });
    // Whatever the build pushed before it ended is in the registry: show it in the emulator's ECR.
    for (const repository of repositories) {
      const tags = await mirrorRegistryToEcr(deps.clients.ecr, deps.registry, repository);
      for (const tag of tags) {
        const skipped = await rememberLayers(deps.registry, repository, tag);
        if (skipped)
          run.say(`(the local registry's layer cache was not updated: ${skipped}; the next build uploads them again)`);
      }
      // One line per image: its tags (the revision's and the content's) name the same image.
      const [tag, ...also] = [...tags].sort();
      if (tag)
        run.say(`pushed ${repository}:${tag}${also.length > 0 ? ` (also tagged ${also.join(", ")})` : ""}, now in ECR`);
    }
    for (const report of result.reports) run.say(`report ${report.name}: ${report.summary.line}`);
    if (result.status !== "SUCCEEDED") {
      const failedTests = result.reports.flatMap((r) => r.summary.failures).slice(0, 5);
      return failed(`Build terminated with state: ${result.status}. ${result.failure ?? ""}`.trim(), {
        ...(failedTests.length > 0 ? { failedTests } : {}),
        log: { source: `the ${project.name} build log`, lines: result.log.slice(-20) },
      });
    }
    for (const output of run.outputs) {
      if (!result.artifact)
        return failed(`the buildspec has no artifacts section, and the action outputs ${output.name}`);
      await run.writeArtifact(output, result.artifact);
    }
    return { status: "Succeeded", summary: `Build ${buildId} succeeded`, outputVariables: result.exportedVariables };
  };
}
