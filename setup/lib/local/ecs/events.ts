// The ECS service's events, as DescribeServices lists them on AWS: the
// emulator's ECS keeps none, so the stand-in writes what it does into a log
// group of the emulator's CloudWatch Logs, where a later process (a lesson's
// check, another step) reads them back. It lives and goes with the emulator.
import {
  type CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  GetLogEventsCommand,
  PutLogEventsCommand,
} from "@aws-sdk/client-cloudwatch-logs";

const STREAM = "events";
export const serviceEventsLogGroup = (prefix: string): string => `/aws-cicd-lab/${prefix}/ecs-service-events`;

const exists = (error: unknown) => (error as { name?: string }).name === "ResourceAlreadyExistsException";

/** Records events (oldest first). */
export async function recordServiceEvents(
  logs: CloudWatchLogsClient,
  prefix: string,
  messages: readonly string[],
): Promise<void> {
  if (messages.length === 0) return;
  const logGroupName = serviceEventsLogGroup(prefix);
  await logs.send(new CreateLogGroupCommand({ logGroupName })).catch((e: unknown) => {
    if (!exists(e)) throw e;
  });
  await logs.send(new CreateLogStreamCommand({ logGroupName, logStreamName: STREAM })).catch((e: unknown) => {
    if (!exists(e)) throw e;
  });
  const now = Date.now();
  await logs.send(
    new PutLogEventsCommand({
      logGroupName,
      logStreamName: STREAM,
      logEvents: messages.map((message, i) => ({ message, timestamp: now + i })),
    }),
  );
}

/** The service's events, newest first; none when it has none yet. */
export async function readServiceEvents(logs: CloudWatchLogsClient, prefix: string): Promise<string[]> {
  try {
    const { events } = await logs.send(
      new GetLogEventsCommand({
        logGroupName: serviceEventsLogGroup(prefix),
        logStreamName: STREAM,
        startFromHead: false,
      }),
    );
    return (events ?? []).map((e) => e.message ?? "").reverse();
  } catch (error) {
    if ((error as { name?: string }).name === "ResourceNotFoundException") return [];
    throw error;
  }
}
