// Connecting a run to its target: on AWS, the account behind the credentials;
// locally, the Docker engine and the emulator (reused when this prefix's
// emulator already runs, started otherwise).
import { readAwsSettings, type Config } from "./config.ts";
import { whoAmI } from "./aws/preflight.ts";
import { awsClients } from "./aws/clients.ts";
import { connectDocker, requireImage, useRyukIfAvailable } from "./local/docker.ts";
import { ensureEmulator, findRehearsal } from "./local/rehearsal.ts";
import { ConfigError, PrerequisiteError } from "./errors.ts";
import { PREFIX_TAG, stackName } from "./aws/naming.ts";
import { stacksNotOurs } from "./aws/stacks.ts";

export interface Session {
  /** The Config with the emulator's endpoint filled in for the local target. */
  readonly config: Config;
  readonly accountId: string;
  /** Local: whether the emulator was already running (a re-run) or started now. */
  readonly emulator?: { readonly endpoint: string; readonly reused: boolean; readonly external: boolean };
}

function withEndpoint(config: Config, endpoint: string): Config {
  return Object.freeze({
    ...config,
    aws: readAwsSettings({ AWS_ENDPOINT_URL: endpoint, AWS_REGION: config.aws.region }),
  });
}

/**
 * @param startIfMissing false for teardown: with no emulator running there is
 * nothing in it to delete, and none is started.
 */
export async function openSession(config: Config, startIfMissing = true): Promise<Session | undefined> {
  if (config.target === "aws") {
    const identity = await whoAmI(awsClients(config.aws).sts, config.aws.region, config.aws.profile);
    await checkPrefixIsOurs(config);
    return { config, accountId: identity.accountId };
  }
  const docker = await connectDocker();
  await useRyukIfAvailable(docker, process.env);
  if (config.aws.endpoint !== undefined) {
    const answers = await fetch(config.aws.endpoint, { signal: AbortSignal.timeout(5_000) }).then(
      () => true,
      () => false,
    );
    if (!answers) {
      throw new PrerequisiteError(
        `The emulator at ${config.aws.endpoint} (AWS_ENDPOINT_URL) does not answer.`,
        "Start it, or unset AWS_ENDPOINT_URL and let the rehearsal start its own.",
      );
    }
    await checkPrefixIsOurs(config);
    return {
      config,
      accountId: "123456789012",
      emulator: { endpoint: config.aws.endpoint, reused: true, external: true },
    };
  }
  if (!startIfMissing) {
    const running = (await findRehearsal(config.prefix)).find((c) => c.role === "emulator" && c.running && c.url);
    if (!running?.url) return undefined;
    return {
      config: withEndpoint(config, running.url),
      accountId: "123456789012",
      emulator: { endpoint: running.url, reused: true, external: false },
    };
  }
  await requireImage(docker, config.images.moto, "LAB_MOTO_IMAGE");
  await requireImage(docker, config.images.node, "LAB_NODE_IMAGE");
  const emulator = await ensureEmulator(config.prefix, config.images.moto);
  await checkPrefixIsOurs(withEndpoint(config, emulator.endpoint));
  return {
    config: withEndpoint(config, emulator.endpoint),
    accountId: "123456789012",
    emulator: { ...emulator, external: false },
  };
}

/** Refuses a prefix whose stack names belong to stacks this workshop did not make. */
async function checkPrefixIsOurs(config: Config): Promise<void> {
  const roles = ["bucket", "pipeline", "environment", "service"] as const;
  const foreign = await stacksNotOurs(
    awsClients(config.aws).cfn,
    roles.map((r) => stackName(config.prefix, r)),
    PREFIX_TAG,
  );
  if (foreign.length > 0) {
    throw new ConfigError(
      `The prefix "${config.prefix}" is taken: ${foreign.join(", ")} exists and was not made by this workshop.`,
      "Choose another prefix with --prefix (it names every stack and resource).",
    );
  }
}
