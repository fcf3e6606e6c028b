// Turns CloudFormation stack events into progress: which resources are done,
// what is happening now, and why something failed. Pure: it takes the events
// as DescribeStackEvents returns them (newest first, paged) and keeps state.
// The display is setup/lib/ui/stack-progress.ts.
import type { StackEvent } from "@aws-sdk/client-cloudformation";

export interface ResourceLine {
  readonly logicalId: string;
  readonly description: string;
  readonly status: string;
  readonly reason?: string;
  readonly at: Date;
}

/** The reason CloudFormation gives to resources it stopped because another one failed. */
const CANCELLED = /cancelled|canceled/i;

export class StackProgress {
  readonly stackName: string;
  private readonly descriptions: Readonly<Record<string, string>>;
  private readonly since: Date;
  private readonly seen = new Set<string>();
  private readonly latest = new Map<string, ResourceLine>();
  private total: number;
  private stackStatus = "";
  private firstFailure: ResourceLine | undefined;

  /**
   * @param descriptions resource id → one-line description (template Metadata)
   * @param total resources this operation touches (from the change set)
   * @param since only events at or after this time belong to this operation
   */
  constructor(stackName: string, descriptions: Readonly<Record<string, string>>, total: number, since: Date) {
    this.stackName = stackName;
    this.descriptions = descriptions;
    this.total = total;
    this.since = since;
  }

  /** When this operation started: older events belong to earlier ones. */
  get startedAt(): Date {
    return this.since;
  }

  /** Whether an event was already taken in (paging stops there). */
  hasSeen(eventId: string): boolean {
    return this.seen.has(eventId);
  }

  /** Takes a page of events (newest first) and returns the new ones, oldest first. */
  ingest(events: readonly StackEvent[]): ResourceLine[] {
    const fresh: ResourceLine[] = [];
    for (const e of [...events].reverse()) {
      if (!e.EventId || this.seen.has(e.EventId)) continue;
      if (e.Timestamp && e.Timestamp < this.since) continue;
      this.seen.add(e.EventId);
      const logicalId = e.LogicalResourceId ?? "";
      const line: ResourceLine = {
        logicalId,
        description:
          this.descriptions[logicalId] ?? (logicalId === this.stackName ? `stack ${this.stackName}` : logicalId),
        status: e.ResourceStatus ?? "",
        ...(e.ResourceStatusReason ? { reason: e.ResourceStatusReason } : {}),
        at: e.Timestamp ?? new Date(),
      };
      if (e.ResourceType === "AWS::CloudFormation::Stack" && logicalId === this.stackName) {
        this.stackStatus = line.status;
      } else {
        this.latest.set(logicalId, line);
        if (!this.firstFailure && line.status.endsWith("_FAILED") && line.reason && !CANCELLED.test(line.reason)) {
          this.firstFailure = line;
        }
      }
      fresh.push(line);
    }
    this.total = Math.max(this.total, this.latest.size);
    return fresh;
  }

  /** Resources that reached a final state in this operation. */
  get completed(): number {
    return [...this.latest.values()].filter((l) => /_COMPLETE$/.test(l.status) && !/ROLLBACK/.test(l.status)).length;
  }

  get resourceCount(): number {
    return this.total;
  }

  get status(): string {
    return this.stackStatus;
  }

  /** Every resource seen in this operation with its latest state, in the order they were first seen. */
  get resources(): ResourceLine[] {
    return [...this.latest.values()];
  }

  /** The resource being worked on most recently, if any is in progress. */
  get current(): ResourceLine | undefined {
    return [...this.latest.values()].filter((l) => l.status.endsWith("_IN_PROGRESS")).sort((a, b) => +b.at - +a.at)[0];
  }

  /** The first resource that failed for a reason of its own (not cancelled because of another). */
  get failure(): ResourceLine | undefined {
    return this.firstFailure;
  }

  /** One line: "pipeline 12/20 · 1m 05s · BuildProject: CodeBuild project that …". */
  summary(now: Date = new Date(), startedAt: Date = this.since): string {
    const seconds = Math.max(0, Math.round((+now - +startedAt) / 1000));
    const elapsed =
      seconds >= 60 ? `${Math.floor(seconds / 60)}m ${String(seconds % 60).padStart(2, "0")}s` : `${seconds}s`;
    const doing = this.current;
    const what = doing ? ` · ${doing.description}` : this.stackStatus ? ` · ${this.stackStatus}` : "";
    return `${this.stackName} ${this.completed}/${this.total} · ${elapsed}${what}`;
  }
}
