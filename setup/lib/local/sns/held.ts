// AWS::SNS::Subscription, which the emulator's CloudFormation skips: made from
// the rendered template with Subscribe, as CloudFormation's handler makes it.
// The emulator confirms every subscription at once and delivers to SQS in its
// own process; an email subscription is recorded, and nothing is mailed (on
// AWS it waits, PendingConfirmation, until the learner follows the link AWS
// mails). Topics and queues the emulator makes and deletes itself.
import { ListSubscriptionsByTopicCommand, type SNSClient, SubscribeCommand } from "@aws-sdk/client-sns";
import type { Template } from "../../aws/templates.ts";
import { resourcesOfType } from "../cloudformation/render.ts";

export interface HeldSubscription {
  readonly protocol: string;
  readonly endpoint: string;
  readonly topicArn: string;
}

/** The subscriptions of a rendered template, made in the emulator unless they exist already. */
export async function holdSubscriptions(sns: SNSClient, template: Template): Promise<HeldSubscription[]> {
  const held: HeldSubscription[] = [];
  for (const [, r] of resourcesOfType(template, "AWS::SNS::Subscription")) {
    const p = r.Properties ?? {};
    const wanted = { protocol: String(p.Protocol), endpoint: String(p.Endpoint), topicArn: String(p.TopicArn) };
    const { Subscriptions } = await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: wanted.topicArn }));
    const exists = (Subscriptions ?? []).some((s) => s.Protocol === wanted.protocol && s.Endpoint === wanted.endpoint);
    if (!exists)
      await sns.send(
        new SubscribeCommand({ TopicArn: wanted.topicArn, Protocol: wanted.protocol, Endpoint: wanted.endpoint }),
      );
    held.push(wanted);
  }
  return held;
}
