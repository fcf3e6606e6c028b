// Following alarms while lesson 07 makes the app slow. On AWS CloudWatch
// evaluates them and SNS delivers the notifications itself: this reads each
// alarm's state (DescribeAlarms) every few seconds and reports its changes.
// The rehearsal's watch (local/monitoring.ts) evaluates them itself and
// reports the same way.
import { type CloudWatchClient, DescribeAlarmsCommand, type MetricAlarm } from "@aws-sdk/client-cloudwatch";

export type AlarmStateValue = "OK" | "ALARM" | "INSUFFICIENT_DATA";

export interface AlarmChange {
  readonly alarm: string;
  readonly from: AlarmStateValue;
  readonly to: AlarmStateValue;
  /** CloudWatch's reason, e.g. "Threshold Crossed: 2 out of the last 3 datapoints …". */
  readonly reason: string;
  /** The SNS topics notified. */
  readonly notified: readonly string[];
}

export interface AlarmWatch {
  /** When the watch's first look (or period) began: the start of the window its metrics are drawn from. */
  readonly since: Date;
  /** Ends the watch (after the read or period under way); rethrows what made it stop early. */
  stop(): Promise<void>;
  readonly changes: readonly AlarmChange[];
}

/** The actions a change to `to` notifies, as CloudWatch picks them. */
export function actionsFor(alarm: MetricAlarm, to: AlarmStateValue): string[] {
  if (alarm.ActionsEnabled === false) return [];
  if (to === "ALARM") return alarm.AlarmActions ?? [];
  if (to === "OK") return alarm.OKActions ?? [];
  return alarm.InsufficientDataActions ?? [];
}

/**
 * Runs `tick` at `startMs` + k × `intervalMs` (k = 1, 2, …) until stopped (a tick under way is
 * finished; a wait for the next one ends at once), one at a time: a fixed
 * rate, as CloudWatch's periods follow one another, so that a slow tick does not shift the ones
 * after it (a tick later than its time runs at once). A tick that throws ends the loop, and
 * `stop()` gives its error back: a watch never ends in silence.
 */
export function everyUntilStopped(
  intervalMs: number,
  tick: () => Promise<void>,
  startMs = Date.now(),
): { stop(): Promise<void> } {
  let stopping = false;
  let failure: Error | undefined;
  // The wait for the next tick, which stop() ends at once: a stopped watch does not sit out its interval.
  let wake = () => {};
  const loop = (async () => {
    for (let k = 1; !stopping; k++) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, startMs + k * intervalMs - Date.now()));
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      if (stopping) return;
      try {
        await tick();
      } catch (error) {
        failure = error instanceof Error ? error : new Error(String(error));
        return;
      }
    }
  })();
  return {
    async stop() {
      stopping = true;
      wake();
      await loop;
      if (failure) throw failure;
    },
  };
}

/** Reports each change of the alarms' states, read every `intervalMs`, from their states now. */
export async function pollAlarms(
  cw: CloudWatchClient,
  alarmNames: readonly string[],
  options: { readonly intervalMs: number; readonly onChange?: (change: AlarmChange) => void },
): Promise<AlarmWatch> {
  // CloudWatch's one-minute periods begin on the minute: the window of the watch starts at this one's.
  const since = new Date(Math.floor(Date.now() / 60_000) * 60_000);
  const read = async () =>
    (await cw.send(new DescribeAlarmsCommand({ AlarmNames: [...alarmNames] }))).MetricAlarms ?? [];
  const states = new Map((await read()).map((a) => [a.AlarmName ?? "", a.StateValue ?? "INSUFFICIENT_DATA"]));
  const changes: AlarmChange[] = [];
  const loop = everyUntilStopped(options.intervalMs, async () => {
    for (const a of await read()) {
      const name = a.AlarmName ?? "";
      const to = a.StateValue ?? "INSUFFICIENT_DATA";
      const from = states.get(name) ?? "INSUFFICIENT_DATA";
      if (to === from) continue;
      states.set(name, to);
      const change = { alarm: name, from, to, reason: a.StateReason ?? "", notified: actionsFor(a, to) };
      changes.push(change);
      options.onChange?.(change);
    }
  });
  return { since, changes, stop: () => loop.stop() };
}
