// The stack progress display: one summary line, and on a terminal one line
// per resource under it (as AWS Copilot's stack renderer does); elsewhere
// each resource's end as its own plain line.
import type { DeployOptions } from "../aws/stacks.ts";
import type { ResourceLine, StackProgress } from "../aws/stack-events.ts";

/** A plain line for one event, for logs and terminals without cursor control. */
export function eventLine(line: ResourceLine): string {
  const mark = line.status.endsWith("_FAILED") ? "✗" : line.status.endsWith("_COMPLETE") ? "✓" : "…";
  const reason = line.reason && line.status.endsWith("_FAILED") ? ` — ${line.reason}` : "";
  return `${mark} ${line.description} (${line.status})${reason}`;
}

/** A resource's line in the live display: mark, description, status and, when done or failed, the time it took. */
function resourceLine(line: ResourceLine): string {
  return `  ${eventLine(line)}`;
}

/**
 * DeployOptions.onProgress for a spinner: on a terminal the spinner shows the
 * summary and one line per resource (failures also stay on screen as lines);
 * without one, each resource's end (done or failed) is printed as a line.
 */
export function deployProgress(
  tty: boolean,
  onLine: (text: string) => void,
  log: (text: string) => void,
): NonNullable<DeployOptions["onProgress"]> {
  return (progress: StackProgress, fresh: readonly ResourceLine[]) => {
    if (tty) {
      onLine([progress.summary(), ...progress.resources.map(resourceLine)].join("\n"));
      for (const line of fresh) if (line.status.endsWith("_FAILED")) log(eventLine(line));
    } else {
      // Plain lines in the order things happen: each resource's end (done or failed), not its start,
      // which the next line implies (the spinner repeats what it waits for during a long wait).
      for (const line of fresh) if (!line.status.endsWith("_IN_PROGRESS")) log(eventLine(line));
    }
  };
}
