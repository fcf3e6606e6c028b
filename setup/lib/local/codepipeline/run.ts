// The local stand-in for a CodePipeline run: the pipeline declaration as the
// emulator holds it (see pipeline-definition.ts), run stage by stage. Actions
// of one stage run in run-order groups, a group's actions side by side;
// artifacts are zips in the pipeline's artifact store, under
// <pipeline>/<artifact>/<id> as CodePipeline names them; an action with a
// namespace publishes its output variables, and #{Namespace.Variable} in a
// later action's configuration is replaced by their values. The first failed
// action fails its stage and the run.
import { randomBytes, randomUUID } from "node:crypto";
import type { PipelineDeclaration } from "@aws-sdk/client-codepipeline";
import { GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { StepError } from "../../errors.ts";
import type { ActionFailure, StageLine } from "../../ui/pipeline-progress.ts";
import { failureLines } from "../../ui/pipeline-progress.ts";

export interface ArtifactRef {
  readonly name: string;
  readonly bucket: string;
  readonly key: string;
}

export interface ActionRun {
  readonly pipelineName: string;
  readonly executionId: string;
  readonly stageName: string;
  readonly actionName: string;
  /** The action's configuration with its #{…} variables resolved. */
  readonly configuration: Readonly<Record<string, string>>;
  readonly inputs: readonly ArtifactRef[];
  readonly outputs: readonly ArtifactRef[];
  readArtifact(ref: ArtifactRef): Promise<Uint8Array>;
  writeArtifact(ref: ArtifactRef, content: Uint8Array): Promise<void>;
  /** A line for the narration (a report summary, an image pushed). */
  say(line: string): void;
  readonly signal?: AbortSignal;
}

export interface ActionResult {
  readonly status: "Succeeded" | "Failed";
  /** CodePipeline's execution summary for the action. */
  readonly summary: string;
  readonly outputVariables?: Readonly<Record<string, string>>;
  /** For a failure: the stack's first failed resource, or the failed tests and the build log's last lines. */
  readonly failure?: Pick<ActionFailure, "stack" | "failedTests" | "log">;
}

export type ActionProvider = (run: ActionRun) => Promise<ActionResult>;

export interface PipelineRunInput {
  readonly pipeline: PipelineDeclaration;
  readonly s3: S3Client;
  /** By ActionTypeId provider (S3, CodeBuild, CloudFormation …). */
  readonly providers: Readonly<Record<string, ActionProvider>>;
  readonly onStages?: (executionId: string, stages: readonly StageLine[]) => void;
  readonly onAction?: (stageName: string, actionName: string, result: ActionResult) => void;
  readonly say?: (line: string) => void;
  readonly signal?: AbortSignal;
}

export interface PipelineRun {
  readonly executionId: string;
  /** Output variables by namespace. */
  readonly variables: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

/** CodePipeline's artifact object names: <pipeline, 20 chars>/<artifact, 10 chars>/<7 random>. */
function artifactKey(pipelineName: string, artifactName: string): string {
  const id = randomBytes(6).toString("base64url").slice(0, 7);
  return `${pipelineName.slice(0, 20)}/${artifactName.slice(0, 10)}/${id}`;
}

/** Replaces #{Namespace.Variable}; a variable no earlier action produced is an error, as on AWS. */
function resolveVariables(
  value: string,
  variables: Readonly<Record<string, Readonly<Record<string, string>>>>,
  where: string,
): string {
  return value.replace(/#\{([\w-]+)\.([\w-]+)\}/g, (_, namespace: string, name: string) => {
    const found = variables[namespace]?.[name];
    if (found === undefined)
      throw new StepError(
        `${where}: the variable #{${namespace}.${name}} is not produced by any earlier action.`,
        "Fix the action's configuration or the producing action's namespace in infra/pipeline.yaml.",
      );
    return found;
  });
}

export async function runPipeline(input: PipelineRunInput): Promise<PipelineRun> {
  const { pipeline } = input;
  const name = pipeline.name ?? "?";
  const bucket = pipeline.artifactStore?.location;
  if (!bucket) throw new StepError(`The pipeline ${name} has no artifact store.`, "Check infra/pipeline.yaml.");
  const executionId = randomUUID();
  const stages = pipeline.stages ?? [];
  const status: StageLine[] = stages.map((s) => ({ name: s.name ?? "?", status: "Waiting" }));
  const show = () => input.onStages?.(executionId, status);
  const artifacts = new Map<string, ArtifactRef>();
  const variables: Record<string, Record<string, string>> = {
    codepipeline: { PipelineExecutionId: executionId },
  };
  const readArtifact = async (ref: ArtifactRef) => {
    const object = await input.s3.send(new GetObjectCommand({ Bucket: ref.bucket, Key: ref.key }));
    return (object.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray();
  };
  const writeArtifact = async (ref: ArtifactRef, content: Uint8Array) => {
    await input.s3.send(
      new PutObjectCommand({ Bucket: ref.bucket, Key: ref.key, Body: content, ServerSideEncryption: "AES256" }),
    );
  };

  for (const [index, stage] of stages.entries()) {
    const stageName = stage.name ?? "?";
    (status[index] as { status: string }).status = "InProgress";
    show();
    const actions = stage.actions ?? [];
    const orders = [...new Set(actions.map((a) => a.runOrder ?? 1))].sort((a, b) => a - b);
    let failure: ActionFailure | undefined;
    for (const order of orders) {
      input.signal?.throwIfAborted();
      const group = actions.filter((a) => (a.runOrder ?? 1) === order);
      const results = await Promise.all(
        group.map(async (action) => {
          const actionName = action.name ?? "?";
          const where = `${stageName} › ${actionName}`;
          const provider = action.actionTypeId?.provider ?? "?";
          const run = input.providers[provider];
          if (!run)
            return {
              action: actionName,
              result: {
                status: "Failed",
                summary: `the rehearsal has no stand-in for ${action.actionTypeId?.category ?? ""} provider ${provider}`,
              } satisfies ActionResult,
            };
          const configuration: Record<string, string> = {};
          for (const [key, value] of Object.entries(action.configuration ?? {}))
            configuration[key] = resolveVariables(String(value), variables, where);
          const inputs = (action.inputArtifacts ?? []).map((a) => {
            const ref = artifacts.get(a.name ?? "");
            if (!ref)
              throw new StepError(`${where}: no artifact ${a.name} was produced.`, "Check infra/pipeline.yaml.");
            return ref;
          });
          const outputs = (action.outputArtifacts ?? []).map((a) => ({
            name: a.name ?? "?",
            bucket,
            key: artifactKey(name, a.name ?? "?"),
          }));
          const result = await run({
            pipelineName: name,
            executionId,
            stageName,
            actionName,
            configuration,
            inputs,
            outputs,
            readArtifact,
            writeArtifact,
            say: (line) => input.say?.(line),
            ...(input.signal ? { signal: input.signal } : {}),
          });
          if (result.status === "Succeeded") {
            for (const ref of outputs) artifacts.set(ref.name, ref);
            if (action.namespace) variables[action.namespace] = { ...result.outputVariables };
          }
          return { action: actionName, result };
        }),
      );
      for (const { action, result } of results) {
        input.onAction?.(stageName, action, result);
        if (result.status === "Failed" && !failure)
          failure = { stageName, actionName: action, summary: result.summary, ...result.failure };
      }
      if (failure) break;
    }
    (status[index] as { status: string }).status = failure ? "Failed" : "Succeeded";
    show();
    if (failure) {
      throw new StepError(
        `The pipeline run ${executionId} failed:\n${failureLines(failure).join("\n")}`,
        "Fix what the failing action reports, then run the same command again: it starts a new run of the same revision.",
      );
    }
  }
  return { executionId, variables };
}
