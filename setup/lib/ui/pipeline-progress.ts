// How a pipeline run is shown, the same on both targets: one line with every
// stage's status while it runs, and on failure the failed action, CodePipeline's
// summary, the stack's first failed resource or the build log's last lines.

export interface StageLine {
  readonly name: string;
  readonly status: string;
}

/** "demo-pipeline 1a2b3c4d: Source Succeeded → Test InProgress → Build Waiting → Deploy Waiting" */
export function stagesLine(pipelineName: string, executionId: string, stages: readonly StageLine[]): string {
  return `${pipelineName} ${executionId.slice(0, 8)}: ${stages.map((s) => `${s.name} ${s.status}`).join(" → ")}`;
}

export interface ActionFailure {
  readonly stageName: string;
  readonly actionName: string;
  /** CodePipeline's summary of the failure, e.g. CodeBuild's "Build terminated with state: FAILED. …". */
  readonly summary?: string;
  /** A CloudFormation action: the stack and its first failed resource, when one is known. */
  readonly stack?: { readonly name: string; readonly firstFailure?: string };
  /** A CodeBuild action: where the log is and its last lines. */
  readonly log?: { readonly source: string; readonly lines: readonly string[] };
}

export function failureLines(failure: ActionFailure): string[] {
  const lines = [`${failure.stageName} › ${failure.actionName} failed${failure.summary ? `: ${failure.summary}` : ""}`];
  if (failure.stack) {
    lines.push(
      failure.stack.firstFailure
        ? `first failed resource in ${failure.stack.name}: ${failure.stack.firstFailure}`
        : `${failure.stack.name}: no failed resource reported`,
    );
  }
  if (failure.log) {
    lines.push(`last ${failure.log.lines.length} lines of ${failure.log.source}:`);
    for (const line of failure.log.lines) lines.push(`  ${line.trimEnd()}`);
  }
  return lines;
}
