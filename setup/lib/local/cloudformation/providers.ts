// What CloudFormation's resource handlers do that the emulator's
// CloudFormation does not, for the resource types that need it: a provider of
// a type, kept in that service's folder (secretsmanager/, ecs/), finishes the
// resource after the emulator has recorded the stack's change - it makes the
// secret the emulator skipped, it waits for the ECS service to be steady - as
// AWS's handler does before the stack operation completes. A provider that
// fails fails the operation, and the stack is rolled back to its last working
// parameters, as CloudFormation rolls back a failed update.
import type { ResourceLine, StackProgress } from "../../aws/stack-events.ts";
import { describeStack, type DeployOptions, type DeployResult, deployStack, type StackSpec } from "../../aws/stacks.ts";
import { parseTemplate, type Template } from "../../aws/templates.ts";
import { readFile } from "node:fs/promises";

/** A resource handler's failure, as CloudFormation reports it. */
export interface HandlerFailure {
  /** The resource's logical id and what it is, e.g. "Service" and "the ECS service". */
  readonly logicalId: string;
  readonly description: string;
  /** The handler's message, e.g. "ECS Deployment Circuit Breaker was triggered". */
  readonly message: string;
  /** What the stack's events say of it beyond the message, e.g. "(3 tasks failed)". */
  readonly detail?: string;
  /** Lines that explain it (e.g. the failed tasks' logs), with where they come from. */
  readonly log?: { readonly source: string; readonly lines: readonly string[] };
}

/** What a provider is told of the stack whose change the emulator recorded. */
export interface StackChange {
  readonly stackName: string;
  /** The template deployed (not rendered: the provider reads the stack's parameters and ids itself). */
  readonly template: Template;
  /** Its file: the release's own, which may differ from the project's (a lesson changes it). */
  readonly templateFile: string;
  readonly say: (line: string) => void;
  readonly signal?: AbortSignal;
}

export interface ResourceProvider {
  /** The CloudFormation type it finishes, e.g. "AWS::ECS::Service". */
  readonly type: string;
  /** After the emulator recorded the stack's create or update; resolves with a failure, if any. */
  complete(change: StackChange): Promise<HandlerFailure | undefined>;
}

export type ProvidedDeploy =
  | { readonly ok: true; readonly deployed: DeployResult }
  | { readonly ok: false; readonly failure: HandlerFailure; readonly summary: string };

/**
 * Deploys a stack through the emulator, then lets each provider whose type
 * the template holds finish its resources, in the order given. The first
 * failure rolls the stack back to its previous parameters and is returned
 * in CloudFormation's words.
 */
export async function deployWithProviders(
  cfn: Parameters<typeof deployStack>[0],
  spec: StackSpec,
  options: DeployOptions,
  providers: readonly ResourceProvider[],
  say: (line: string) => void,
  signal?: AbortSignal,
): Promise<ProvidedDeploy> {
  const template = parseTemplate(await readFile(spec.templateFile, "utf8"));
  const types = new Set(Object.values(template.Resources).map((r) => r.Type));
  const before = await describeStack(cfn, spec.name);
  const finishing = providers.filter((p) => types.has(p.type));
  // The stack is complete only once its handlers are: the emulator's own "complete" for the stack
  // is held back until the providers have finished, and said only if they succeed.
  let held: { progress: StackProgress; line: ResourceLine } | undefined;
  const report = options.onProgress;
  const onProgress: DeployOptions["onProgress"] =
    report &&
    ((progress, fresh) => {
      const own =
        finishing.length > 0
          ? fresh.find((l) => l.logicalId === spec.name && l.status.endsWith("_COMPLETE"))
          : undefined;
      if (own) held = { progress, line: own };
      report(progress, own ? fresh.filter((l) => l !== own) : fresh);
    });
  const deployed = await deployStack(cfn, spec, { ...options, ...(onProgress ? { onProgress } : {}) });
  for (const provider of finishing) {
    const failure = await provider.complete({
      stackName: spec.name,
      template,
      templateFile: spec.templateFile,
      say,
      ...(signal ? { signal } : {}),
    });
    if (!failure) continue;
    // CloudFormation rolls the stack back to its last working state.
    const previous = Object.fromEntries(
      (before?.Parameters ?? []).map((p) => [p.ParameterKey ?? "", p.ParameterValue ?? ""]),
    );
    say(
      `${spec.name} ${before ? "UPDATE_ROLLBACK_IN_PROGRESS" : "ROLLBACK_IN_PROGRESS"}: ${failure.logicalId} failed (${failure.message})`,
    );
    signal?.throwIfAborted();
    if (before) {
      // The emulator has no rollback: the previous parameters are deployed again, an update it
      // reports as UPDATE_COMPLETE. Its events are not shown: what CloudFormation shows is the rollback.
      await deployStack(cfn, { ...spec, parameters: previous }, { ...options, onProgress: () => undefined });
      say(`${spec.name} UPDATE_ROLLBACK_COMPLETE`);
    }
    return {
      ok: false,
      failure,
      summary: `Stack ${spec.name} could not be ${before ? "updated" : "created"}: ${failure.logicalId}: Resource handler returned message: "Error occurred during operation '${failure.message}'." (HandlerErrorCode: GeneralServiceException); the stack was rolled back (${before ? "UPDATE_ROLLBACK_COMPLETE" : "ROLLBACK_COMPLETE"})`,
    };
  }
  if (held && report) report(held.progress, [held.line]);
  return { ok: true, deployed };
}
