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

const ENDED = /^(Succeeded|Failed|Stopped|Cancelled)$/;

/**
 * What a run's display is told of its stages: on a terminal every change (the
 * spinner redraws one line); in a log only when a stage ends, so a release
 * reads "Source Succeeded → …", "TestAndBuild Succeeded → …" and, when it
 * fails, "Deploy Failed" (a success is the run's own end line).
 */
export function stageUpdates(
  tty: boolean,
  pipelineName: string,
  show: (line: string) => void,
): (executionId: string, stages: readonly StageLine[]) => void {
  let run = "";
  let ended = 0;
  return (executionId, stages) => {
    if (tty) return show(stagesLine(pipelineName, executionId, stages));
    const now = stages.filter((s) => ENDED.test(s.status)).length;
    if (executionId !== run) [run, ended] = [executionId, 0];
    if (now <= ended) return;
    ended = now;
    // A run whose every stage succeeded is said by the run's own end line ("run … succeeded").
    if (stages.every((s) => s.status === "Succeeded")) return;
    show(stagesLine(pipelineName, executionId, stages));
  };
}

export interface ActionFailure {
  readonly stageName: string;
  readonly actionName: string;
  /** CodePipeline's summary of the failure, e.g. CodeBuild's "Build terminated with state: FAILED. …". */
  readonly summary?: string;
  /** A CloudFormation action: the stack and its first failed resource, when one is known. */
  readonly stack?: { readonly name: string; readonly firstFailure?: string };
  /** A CodeBuild action: the first failed test cases of its reports, "suite › name: message". */
  readonly failedTests?: readonly string[];
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
  if (failure.failedTests && failure.failedTests.length > 0) {
    lines.push("failed tests (from the build's test report):");
    for (const test of failure.failedTests) lines.push(`  ✗ ${test}`);
  }
  if (failure.log) {
    lines.push(`last ${failure.log.lines.length} lines of ${failure.log.source}:`);
    for (const line of failure.log.lines) lines.push(`  ${line.trimEnd()}`);
  }
  return lines;
}
