// The one place that constructs AWS SDK clients. Every client in the project
// comes from makeClient, so endpoint, region, credentials and retry behaviour
// are decided here and nowhere else.
import type { AwsSettings } from "../config.ts";

/** What every SDK v3 client constructor accepts that this factory sets. */
interface CommonClientConfig {
  region: string;
  endpoint?: string;
  profile?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** S3 only: bucket in the path, since emulator hosts have no bucket subdomains. */
  forcePathStyle?: boolean;
  /** SDK-managed retries with backoff; throttling on busy accounts is normal. */
  maxAttempts?: number;
}

/**
 * Credentials sent to an emulator. An emulator accepts any; using fixed ones
 * means a learner's real credentials are never sent to a local endpoint.
 */
const EMULATOR_CREDENTIALS = Object.freeze({ accessKeyId: "testing", secretAccessKey: "testing" });

export function clientConfig(aws: AwsSettings): CommonClientConfig {
  if (aws.endpoint !== undefined) {
    return {
      region: aws.region,
      endpoint: aws.endpoint,
      credentials: { ...EMULATOR_CREDENTIALS },
      forcePathStyle: true,
      maxAttempts: 3,
    };
  }
  return {
    region: aws.region,
    ...(aws.profile !== undefined ? { profile: aws.profile } : {}),
    maxAttempts: 5,
  };
}

/** Builds an SDK v3 client, e.g. `makeClient(S3Client, config.aws)`. */
export function makeClient<C>(Client: new (config: CommonClientConfig) => C, aws: AwsSettings): C {
  return new Client(clientConfig(aws));
}
