// What each action provider does in the rehearsal: the S3 source action, the
// CodeBuild action (the project's buildspec in the build stand-in) and the
// CloudFormation deploy action, each read from the action's configuration as
// CodePipeline reads it.
import { randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import type { CodeBuildClient, EnvironmentVariable } from "@aws-sdk/client-codebuild";
import type { ECRClient } from "@aws-sdk/client-ecr";
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { unzipSync, zipSync } from "fflate";
import { LabError } from "../../errors.ts";
import { parseTemplate } from "../../aws/templates.ts";
import { type DeployOptions, deployStack, describeStack, firstFailedResource } from "../../aws/stacks.ts";
import type { ActionProvider, ActionResult, ArtifactRef } from "./run.ts";
import type { RolloutResult } from "../ecs/service.ts";
import { runBuild, SOURCE_DIR } from "../codebuild/build.ts";
import { mirrorRegistryToEcr, reconcileRegistryWithEcr } from "../ecr/mirror.ts";
import { readProject } from "./definition.ts";
import { primeRepository, rememberLayers } from "../ecr/registry.ts";

export interface LocalActionDeps {
  readonly prefix: string;
  readonly region: string;
  readonly accountId: string;
  readonly endpoint: string;
  readonly buildImage: string;
  readonly nodeImage: string;
  readonly registry: string;
  readonly clients: {
    readonly s3: S3Client;
    readonly cb: CodeBuildClient;
    readonly cfn: CloudFormationClient;
    readonly ecr: ECRClient;
  };
  readonly deployOptions: DeployOptions;
  /** Every line of every build log, as it is written. */
  readonly onBuildLine?: (line: string) => void;
  /**
   * After a CloudFormation action updated a stack: what AWS's resource
   * handlers would do before the update completes (ECS waits for the service
   * to be stable). A deployment rolled back fails the action, and the stack
   * returns to its previous parameters, as CloudFormation rolls back.
   */
  readonly afterStackDeployed?: (stack: string, say: (line: string) => void) => Promise<RolloutResult | undefined>;
}

/** The files of a zip artifact; a path that would leave the directory is refused. */
export function unzipArtifact(zip: Uint8Array, name: string): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  for (const [path, content] of Object.entries(unzipSync(zip))) {
    if (path.endsWith("/")) continue;
    if (path.startsWith("/") || path.split("/").includes(".."))
      throw new LabError(`The artifact ${name} holds a path outside itself: ${path}`, {
        hint: "Seed the source again.",
      });
    files.set(path, content);
  }
  return files;
}

const failed = (summary: string, failure?: ActionResult["failure"]): ActionResult => ({
  status: "Failed",
  summary,
  ...(failure ? { failure } : {}),
});

/** An ECR repository URI: <account>.dkr.ecr.<region>.amazonaws.com/<name>. */
const ECR_URI = /^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?\/(.+)$/;

/** The project's variables that name an ECR repository, with that repository's name. */
function ecrVariables(variables: readonly EnvironmentVariable[]): Array<{ name: string; repository: string }> {
  return variables.flatMap((v) => {
    const repository = ECR_URI.exec(v.value ?? "")?.[1];
    return v.name && repository ? [{ name: v.name, repository }] : [];
  });
}

/**
 * Everything the rehearsal passes to a build because there is no AWS here,
 * as start-build overrides (they win over the project's and the buildspec's
 * values, exactly as CodeBuild's environmentVariablesOverride does).
 */
function localOverrides(
  deps: LocalActionDeps,
  ecrVariables: ReadonlyArray<{ name: string; repository: string }>,
): Record<string, string> {
  const overrides: Record<string, string> = {
    // The Node base: the image `npm run images` made, not ECR Public's (no registry answers here).
    NODE_IMAGE: deps.nodeImage,
    // `docker build` reaches the npm registry through the host's network on these machines.
    DOCKER_BUILD_NETWORK: "host",
  };
  // ECR's registry is the local one: the same repository name under its address.
  for (const { name, repository } of ecrVariables) overrides[name] = `${deps.registry}/${repository}`;
  return overrides;
}

export function localProviders(deps: LocalActionDeps): Record<string, ActionProvider> {
  /** Source revision of each artifact a source action produced (CODEBUILD_RESOLVED_SOURCE_VERSION). */
  const revisions = new Map<string, string>();
  let buildNumber = 0;

  const s3Source: ActionProvider = async (run) => {
    const { S3Bucket: bucket, S3ObjectKey: key } = run.configuration;
    if (!bucket || !key) return failed("the S3 source action needs S3Bucket and S3ObjectKey");
    const object = await deps.clients.s3
      .send(new GetObjectCommand({ Bucket: bucket, Key: key }))
      .catch((error: unknown) => error as Error);
    if (object instanceof Error) return failed(`s3://${bucket}/${key}: ${object.name}`);
    const content = await (object.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray();
    const versionId = object.VersionId ?? "null";
    for (const output of run.outputs) {
      await run.writeArtifact(output, content);
      revisions.set(output.name, versionId);
    }
    return {
      status: "Succeeded",
      summary: `s3://${bucket}/${key} version ${versionId}`,
      outputVariables: { ObjectKey: key, ETag: (object.ETag ?? "").replaceAll('"', ""), VersionId: versionId },
    };
  };

  const codeBuild: ActionProvider = async (run) => {
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
    const buildId = `${project.name}:${randomUUID()}`;
    const pushedTo = ecrVariables(projectVariables);
    const repositories = pushedTo.map((v) => v.repository);
    for (const repository of repositories) {
      for (const dropped of await reconcileRegistryWithEcr(deps.clients.ecr, deps.registry, repository))
        run.say(`dropped ${dropped}: the registry and the emulator's ECR must hold the same images`);
      await primeRepository(deps.registry, repository);
    }
    const source = unzipArtifact(await run.readArtifact(primary), primary.name);
    const buildspec = project.source?.buildspec ?? "buildspec.yml";
    const result = await runBuild({
      prefix: deps.prefix,
      image: deps.buildImage,
      projectName: project.name ?? "?",
      buildspecFile: buildspec,
      timeoutMinutes: project.timeoutInMinutes ?? 60,
      source,
      environment: [
        {
          // What CodeBuild sets in every build.
          AWS_REGION: deps.region,
          AWS_DEFAULT_REGION: deps.region,
          CODEBUILD_BUILD_ID: buildId,
          CODEBUILD_BUILD_ARN: `arn:aws:codebuild:${deps.region}:${deps.accountId}:build/${buildId}`,
          CODEBUILD_BUILD_NUMBER: String(++buildNumber),
          CODEBUILD_BUILD_IMAGE: project.environment?.image ?? "",
          CODEBUILD_INITIATOR: `codepipeline/${run.pipelineName}`,
          CODEBUILD_SRC_DIR: SOURCE_DIR,
          CODEBUILD_SOURCE_VERSION: `arn:aws:s3:::${primary.bucket}/${primary.key}`,
          CODEBUILD_RESOLVED_SOURCE_VERSION: revisions.get(primary.name) ?? "",
          CODEBUILD_START_TIME: String(Date.now()),
          // In place of the project's service role: the emulator, which accepts any credentials (none are secret).
          AWS_ENDPOINT_URL: deps.endpoint,
          AWS_ACCESS_KEY_ID: "rehearsal",
          AWS_SECRET_ACCESS_KEY: "rehearsal",
        },
        Object.fromEntries(projectVariables.map((v) => [v.name ?? "", v.value ?? ""])),
        Object.fromEntries(actionVariables.map((v) => [v.name ?? "", v.value ?? ""])),
        localOverrides(deps, pushedTo),
      ],
      ...(deps.onBuildLine ? { onLine: deps.onBuildLine } : {}),
      ...(run.signal ? { signal: run.signal } : {}),
    });
    // Whatever the build pushed before it ended is in the registry: show it in the emulator's ECR.
    for (const repository of repositories) {
      for (const tag of await mirrorRegistryToEcr(deps.clients.ecr, deps.registry, repository)) {
        run.say(`pushed ${repository}:${tag} (now in ECR)`);
        await rememberLayers(deps.registry, repository, tag);
      }
    }
    for (const report of result.reports) run.say(`report ${report.name}: ${report.summary.line}`);
    if (result.status !== "SUCCEEDED") {
      return failed(`Build terminated with state: ${result.status}. ${result.failure ?? ""}`.trim(), {
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

  const cloudFormation: ActionProvider = async (run) => {
    const c = run.configuration;
    const mode = c.ActionMode ?? "";
    if (mode !== "CREATE_UPDATE" && mode !== "REPLACE_ON_FAILURE")
      return failed(
        `ActionMode ${mode} is not something the rehearsal's deploy stand-in does (CREATE_UPDATE, REPLACE_ON_FAILURE)`,
      );
    const stackName = c.StackName ?? "";
    const files = new Map<string, Map<string, Uint8Array>>();
    /** "Artifact::path" → the file's text, or why not. */
    const readPath = async (setting: string, value: string): Promise<string | Error> => {
      const [artifactName, path] = value.split("::");
      const ref = run.inputs.find((i: ArtifactRef) => i.name === artifactName);
      if (!ref || !path)
        return new Error(`${setting} ${value}: ${artifactName} is not an input artifact of this action`);
      if (!files.has(ref.name)) files.set(ref.name, unzipArtifact(await run.readArtifact(ref), ref.name));
      const content = files.get(ref.name)?.get(path);
      if (!content) return new Error(`${setting} ${value}: the artifact ${ref.name} holds no file ${path}`);
      return new TextDecoder().decode(content);
    };
    const templateText = await readPath("TemplatePath", c.TemplatePath ?? "");
    if (templateText instanceof Error) return failed(templateText.message);
    let parameters: Record<string, string> = {};
    let tags: Record<string, string> = {};
    if (c.TemplateConfiguration) {
      const text = await readPath("TemplateConfiguration", c.TemplateConfiguration);
      if (text instanceof Error) return failed(text.message);
      try {
        const config = JSON.parse(text) as { Parameters?: Record<string, string>; Tags?: Record<string, string> };
        parameters = { ...config.Parameters };
        tags = { ...config.Tags };
      } catch (error) {
        return failed(
          `TemplateConfiguration ${c.TemplateConfiguration} is not valid JSON: ${(error as Error).message}`,
        );
      }
    }
    if (c.ParameterOverrides) {
      try {
        parameters = { ...parameters, ...(JSON.parse(c.ParameterOverrides) as Record<string, string>) };
      } catch (error) {
        return failed(`ParameterOverrides is not valid JSON: ${(error as Error).message}`);
      }
    }
    // CloudFormation's own checks; the emulator's CloudFormation makes neither.
    const declared = parseTemplate(templateText).Parameters ?? {};
    const unknown = Object.keys(parameters).filter((p) => !(p in declared));
    if (unknown.length > 0) return failed(`Parameters: [${unknown.join(", ")}] do not exist in the template`);
    const missing = Object.entries(declared)
      .filter(([p, d]) => !(p in parameters) && d.Default === undefined)
      .map(([p]) => p);
    if (missing.length > 0) return failed(`Parameters: [${missing.join(", ")}] must have values`);

    const dir = await mkdtemp(join(tmpdir(), "aws-cicd-lab-deploy-"));
    const started = new Date();
    try {
      const templateFile = join(dir, "template.yaml");
      await writeFile(templateFile, templateText);
      const spec = {
        name: stackName,
        templateFile,
        parameters,
        tags,
        capabilities: (c.Capabilities ?? "").split(",").filter(Boolean) as never,
      };
      const before = await describeStack(deps.clients.cfn, stackName);
      const deployed = await deployStack(deps.clients.cfn, spec, deps.deployOptions);
      const rollout = await deps.afterStackDeployed?.(stackName, (line) => run.say(line));
      if (rollout?.outcome === "rolled back") {
        // CloudFormation rolls the stack back to its last working state.
        const previous = Object.fromEntries(
          (before?.Parameters ?? []).map((p) => [p.ParameterKey ?? "", p.ParameterValue ?? ""]),
        );
        if (before) await deployStack(deps.clients.cfn, { ...spec, parameters: previous }, deps.deployOptions);
        return failed(
          `Stack ${stackName} could not be updated: Service: Resource handler returned message: "Error occurred during operation 'ECS Deployment Circuit Breaker was triggered'." (HandlerErrorCode: GeneralServiceException); the stack was rolled back (UPDATE_ROLLBACK_COMPLETE)`,
          {
            stack: {
              name: stackName,
              firstFailure: `Service (the ECS service): ECS Deployment Circuit Breaker was triggered (${rollout.failedTasks} tasks failed)`,
            },
            ...(rollout.failures.length > 0
              ? { log: { source: "the failed tasks' logs", lines: rollout.failures.join("\n").split("\n").slice(-20) } }
              : {}),
          },
        );
      }
      if (c.OutputFileName) {
        const zip = zipSync({ [c.OutputFileName]: new TextEncoder().encode(JSON.stringify(deployed.outputs)) });
        for (const output of run.outputs) await run.writeArtifact(output, zip);
      }
      return { status: "Succeeded", summary: `${stackName} ${deployed.action}`, outputVariables: deployed.outputs };
    } catch (error) {
      if (!(error instanceof LabError)) throw error;
      const first = await firstFailedResource(deps.clients.cfn, stackName, started).catch(() => undefined);
      return failed(error.message.split("\n")[0] ?? error.message, {
        stack: { name: stackName, ...(first ? { firstFailure: first } : {}) },
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };

  return { S3: s3Source, CodeBuild: codeBuild, CloudFormation: cloudFormation };
}
