// Clients for the emulator: the project's one client factory
// (setup/lib/aws/clients.ts) with what makes the emulator answer as AWS does -
// its timestamps read as AWS sends them, CloudWatch asked in the protocol it
// answers in, CloudFormation's refusals it does
// not make (cloudformation/capabilities.ts) and the bucket settings its
// CloudFormation skips (s3/bucket-settings.ts). Everything the rehearsal, its
// tests and its checks send to the emulator goes through these.
import { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { AwsQueryProtocol } from "@aws-sdk/core/protocols";
import { S3Client } from "@aws-sdk/client-s3";
import { Readable } from "node:stream";
import { text as readText } from "node:stream/consumers";
import type { FinalizeHandler, FinalizeHandlerArguments, HttpResponse, MiddlewareStack } from "@smithy/types";
import { type AwsClients, awsClients, type CommonClientConfig, makeClient } from "../../aws/clients.ts";
import type { AwsSettings } from "../../config.ts";
import { refuseMissingCapabilities } from "../cloudformation/capabilities.ts";
import { applyBucketSettings } from "../s3/bucket-settings.ts";

/** An ISO-8601 time as a JSON string value: "2026-11-22T05:16:16.386Z". */
const ISO_TIME_VALUE = /"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)"/g;

/**
 * The emulator answers some JSON-protocol calls (CodePipeline's GetPipeline,
 * ListPipelines) with timestamps as ISO strings where AWS sends epoch
 * seconds, which the SDK refuses to read. This rewrites them in the raw
 * response, before the SDK parses it; only for an emulator endpoint.
 */
function readEmulatorTimestamps(client: object): void {
  const stack = (client as { middlewareStack?: MiddlewareStack<object, object> }).middlewareStack;
  stack?.addRelativeTo(
    (next: FinalizeHandler<object, object>) => async (args: FinalizeHandlerArguments<object>) => {
      const result = await next(args);
      const response = result.response as HttpResponse;
      // The emulator labels these answers text/html; the request says which protocol it speaks.
      const request = args.request as { headers?: Record<string, string> };
      if (!(request.headers?.["content-type"] ?? "").includes("json") || !response.body) return result;
      const text = await readText(response.body as Readable);
      const fixed = text.replace(ISO_TIME_VALUE, (match, iso: string) => {
        const epoch = Date.parse(iso);
        return Number.isNaN(epoch) ? match : String(epoch / 1000);
      });
      response.body = Readable.from([Buffer.from(fixed)]);
      return result;
    },
    { relation: "after", toMiddleware: "deserializerMiddleware", name: "readEmulatorTimestamps" },
  );
}

/**
 * CloudWatch's SDK client speaks AWS JSON 1.0, which CloudWatch accepts since 2025; the emulator
 * answers CloudWatch in its older Query protocol (XML) whatever it is asked in. The client is set to
 * Query, the protocol CloudWatch has always spoken and still speaks, with the SDK's own settings.
 */
function speakQuery(client: CloudWatchClient): void {
  const config = client.config as unknown as {
    protocol: unknown;
    protocolSettings: ConstructorParameters<typeof AwsQueryProtocol>[0];
  };
  config.protocol = new AwsQueryProtocol(config.protocolSettings);
}

/** What every client made for the emulator at `aws` gets. */
function adaptToEmulator(client: object, aws: AwsSettings): void {
  readEmulatorTimestamps(client);
  if (client instanceof CloudWatchClient) speakQuery(client);
  if (client instanceof CloudFormationClient) {
    // The emulator creates what AWS refuses for unacknowledged IAM resources: refused here as AWS does.
    refuseMissingCapabilities(client);
    // It leaves a bucket's versioning and public access settings out: applied here as CloudFormation does.
    applyBucketSettings(client, () => emulatorClient(S3Client, aws));
  }
}

/** One client for the emulator, e.g. `emulatorClient(S3Client, emulator.aws)`. */
export const emulatorClient = <C extends object>(Client: new (config: CommonClientConfig) => C, aws: AwsSettings): C =>
  makeClient(Client, aws, (client) => adaptToEmulator(client, aws));

/** Every client a run needs, for the emulator. */
export const emulatorClients = (aws: AwsSettings): AwsClients =>
  awsClients(aws, (client) => adaptToEmulator(client, aws));
