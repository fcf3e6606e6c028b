// Lesson 07's inbox: the SQS queue subscribed to the alarms' topic. Each
// message is SNS's envelope around CloudWatch's notification; read here
// without taking anything out of the queue (visibility 0, nothing deleted),
// so the step, its check and a re-run all see the same notifications.
import { ReceiveMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";

export interface AlarmNotification {
  readonly subject: string;
  readonly alarm: string;
  readonly state: string;
  readonly reason: string;
  /** CloudWatch's StateChangeTime. */
  readonly at: Date;
}

interface Envelope {
  readonly Subject?: string;
  readonly Message?: string;
}

/** Every alarm notification in the inbox, oldest first. */
export async function readInbox(sqs: SQSClient, queueUrl: string): Promise<AlarmNotification[]> {
  const seen = new Map<string, AlarmNotification>();
  // A queue answers with some of its messages each time: read until a read brings nothing new.
  for (let quiet = 0; quiet < 3;) {
    const { Messages } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }),
    );
    let fresh = 0;
    for (const m of Messages ?? []) {
      if (!m.MessageId || seen.has(m.MessageId)) continue;
      fresh++;
      const envelope = JSON.parse(m.Body ?? "{}") as Envelope;
      let alarm: { AlarmName?: string; NewStateValue?: string; NewStateReason?: string; StateChangeTime?: string };
      try {
        alarm = JSON.parse(envelope.Message ?? "{}") as typeof alarm;
      } catch {
        continue; // not an alarm's notification
      }
      if (!alarm.AlarmName) continue;
      seen.set(m.MessageId, {
        subject: envelope.Subject ?? "",
        alarm: alarm.AlarmName,
        state: alarm.NewStateValue ?? "",
        reason: alarm.NewStateReason ?? "",
        at: new Date((alarm.StateChangeTime ?? "").replace("+0000", "Z")),
      });
    }
    quiet = fresh === 0 ? quiet + 1 : 0;
  }
  return [...seen.values()].sort((a, b) => a.at.getTime() - b.at.getTime());
}
