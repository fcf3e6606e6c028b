// Following alarms while lesson 07 makes the app slow. On AWS CloudWatch
// evaluates them and SNS delivers the notifications itself: this reads each
// alarm's state (DescribeAlarms) every few seconds and reports its changes.
// The rehearsal's watch (local/monitoring.ts) evaluates them itself and
// reports the same way.
import { type CloudWatchClient, DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";

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
  /** Ends the watch (after the read or period under way); rethrows what made it stop early. */
  stop(): Promise<void>;
  readonly changes: readonly AlarmChange[];
}

/** Reports each change of the alarms' states, read every `intervalMs`, from their states now. */
export async function pollAlarms(
  cw: CloudWatchClient,
  alarmNames: readonly string[],
  options: { readonly intervalMs: number; readonly onChange?: (change: AlarmChange) => void },
): Promise<AlarmWatch> {
  const read = async () =>
    (await cw.send(new DescribeAlarmsCommand({ AlarmNames: [...alarmNames] }))).MetricAlarms ?? [];
  const states = new Map((await read()).map((a) => [a.AlarmName ?? "", a.StateValue ?? "INSUFFICIENT_DATA"]));
  const changes: AlarmChange[] = [];
  let stopping = false;
  let failure: Error | undefined;
  const loop = (async () => {
    while (!stopping) {
      await new Promise((r) => setTimeout(r, options.intervalMs));
      try {
        for (const a of await read()) {
          const name = a.AlarmName ?? "";
          const to = a.StateValue ?? "INSUFFICIENT_DATA";
          const from = states.get(name) ?? "INSUFFICIENT_DATA";
          if (to === from) continue;
          states.set(name, to);
          const actions = to === "ALARM" ? a.AlarmActions : to === "OK" ? a.OKActions : a.InsufficientDataActions;
          const change = { alarm: name, from, to, reason: a.StateReason ?? "", notified: actions ?? [] };
          changes.push(change);
          options.onChange?.(change);
        }
      } catch (error) {
        failure = error instanceof Error ? error : new Error(String(error));
        return;
      }
    }
  })();
  return {
    changes,
    async stop() {
      stopping = true;
      await loop;
      if (failure) throw failure;
    },
  };
}
