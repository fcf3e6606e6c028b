// Configuration is read here, once, from flags and the environment, into a
// frozen Config. Nothing else in the project reads process.env for settings.
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { ConfigError } from "./errors.ts";
import { recordsDir } from "./run-records.ts";

/** Container images the project runs or builds on. */
export interface Images {
  /** The AWS emulator (moto 5.1). */
  readonly moto: string;
  /** The Node 24 base that every Dockerfile builds on. */
  readonly node: string;
  /** The local stand-in for CodeBuild's image: the Node base plus the AWS CLI, the Docker CLI and git. */
  readonly build: string;
  /** The local stand-in for ECR's registry: Distribution (Debian's docker-registry) on the Node base. */
  readonly registry: string;
  /** The local stand-in for the load balancer: HAProxy (Debian's haproxy) on the Node base. */
  readonly proxy: string;
}

/** Where AWS calls go and as whom. */
export interface AwsSettings {
  readonly region: string;
  /** An emulator or other endpoint; unset means real AWS. */
  readonly endpoint?: string;
  /** A named profile from ~/.aws; unset means the SDK's default chain. */
  readonly profile?: string;
}

export type TargetKind = "aws" | "local";
export type SourceChoice = "codecommit" | "s3" | "auto";

export interface Config {
  readonly target: TargetKind;
  readonly prefix: string;
  readonly source: SourceChoice;
  readonly aws: AwsSettings;
  readonly images: Images;
  /** Ask before acting (AWS) and allow --step pauses: stdin is a TTY, not CI, no --yes. */
  readonly interactive: boolean;
  /** --yes: creating resources on AWS is confirmed in advance. */
  readonly yes: boolean;
  /** Pause before each step (TTY only). */
  readonly stepByStep: boolean;
  /** --from and --until as given (checked against the step registry, setup/steps.ts). */
  readonly from?: string;
  readonly until?: string;
  /** Local: leave the rehearsal running at the end. */
  readonly keep: boolean;
  readonly verbose: boolean;
  /** Step 05: the new /time message (checked when the step runs). */
  readonly message?: string;
  /** Step 07: an address to mail the alarms' changes to (checked here: exit 2 before anything is made). */
  readonly email?: string;
  /** bin/lesson: only run the lesson's check. */
  readonly checkOnly: boolean;
  /** bin/lesson: bring the prefix to the lesson's starting state (the earlier lessons not done yet). */
  readonly prepare: boolean;
  /** teardown: only list what would be deleted. */
  readonly dryRun: boolean;
  /** bin/run on AWS: only check what AWS would refuse, create nothing. */
  readonly plan: boolean;
  readonly help: boolean;
  /** stderr is a terminal: spinners and in-place progress; otherwise plain lines. */
  readonly tty: boolean;
  readonly color: boolean;
  /** Running inside the demo image (LAB_DEMO_IMAGE=1): errors about Docker explain how to start the image. */
  readonly inDemoImage: boolean;
  /** Where this machine records which prefixes have runs where (setup/lib/run-records.ts). */
  readonly recordsDir: string;
  /** Where lessons write what they draw (lesson 07's dashboard): LAB_PICTURES_DIR, else ~/.aws-cicd-lab/pictures. */
  readonly picturesDir: string;
}

/** Names under which `npm run images` tags the images it builds itself. */
export const LOCAL_IMAGES: Images = Object.freeze({
  moto: "aws-cicd-lab/moto:5.1.1",
  node: "aws-cicd-lab/node:24-bookworm-slim",
  build: "aws-cicd-lab/build:bookworm",
  registry: "aws-cicd-lab/registry:2.8",
  proxy: "aws-cicd-lab/haproxy:2.6",
});

/**
 * The images published by their projects; used when nothing else is
 * configured. The stand-ins exist only as this project's own builds.
 */
export const OFFICIAL_IMAGES: Images = Object.freeze({
  moto: "motoserver/moto:5.1.1",
  node: "node:24-bookworm-slim",
  build: LOCAL_IMAGES.build,
  registry: LOCAL_IMAGES.registry,
  proxy: LOCAL_IMAGES.proxy,
});

/** The environment variable that names each image. */
export const IMAGE_VARIABLES: Readonly<Record<keyof Images, string>> = Object.freeze({
  moto: "LAB_MOTO_IMAGE",
  node: "LAB_NODE_IMAGE",
  build: "LAB_BUILD_IMAGE",
  registry: "LAB_REGISTRY_IMAGE",
  proxy: "LAB_PROXY_IMAGE",
});

/** Region used against the emulator when none is given; moto accepts any. */
export const EMULATOR_REGION = "us-east-1";

/**
 * 2–20 characters: lowercase letters, digits, hyphens; starts with a letter.
 * 20 keeps every derived name within AWS limits: `<prefix>-artifacts-<12-digit
 * account>-<region>` within S3's 63, `<prefix>-alb` within ELB's 32, and
 * `<prefix>-environment` stack role names within IAM's 64.
 */
const PREFIX_PATTERN = /^[a-z][a-z0-9-]{0,18}[a-z0-9]$/;

type Env = Readonly<Record<string, string | undefined>>;

const nonEmpty = (value: string | undefined): string | undefined =>
  value !== undefined && value.trim() !== "" ? value.trim() : undefined;

/** Where `npm run images` records the image names it chose. */
const IMAGES_ENV_FILE = fileURLToPath(new URL("../../.cache/images.env", import.meta.url));

/** The names `npm run images` recorded (lines `export LAB_X_IMAGE="${LAB_X_IMAGE:-name}"`); none when it has not run. */
export function recordedImages(file: string = IMAGES_ENV_FILE): Env {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return {};
  }
  const recorded: Record<string, string> = {};
  for (const m of text.matchAll(/^export (LAB_[A-Z]+_IMAGE)="\$\{\1:-(.+)\}"$/gm))
    recorded[m[1] as string] = m[2] as string;
  return recorded;
}

/** Images: what the environment names, else what `npm run images` recorded, else the official ones. */
export function readImages(env: Env, recorded: Env = recordedImages()): Images {
  const pick = (role: keyof Images) => {
    const variable = IMAGE_VARIABLES[role];
    return nonEmpty(env[variable]) ?? nonEmpty(recorded[variable]) ?? OFFICIAL_IMAGES[role];
  };
  return Object.freeze({
    moto: pick("moto"),
    node: pick("node"),
    build: pick("build"),
    registry: pick("registry"),
    proxy: pick("proxy"),
  });
}

export function readAwsSettings(env: Env, regionFlag?: string): AwsSettings {
  const endpoint = nonEmpty(env.AWS_ENDPOINT_URL);
  const region =
    nonEmpty(regionFlag) ?? nonEmpty(env.REGION) ?? nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION);
  const profile = nonEmpty(env.AWS_PROFILE);
  return Object.freeze({
    region: region ?? EMULATOR_REGION,
    ...(endpoint ? { endpoint } : {}),
    ...(profile ? { profile } : {}),
  });
}

const FLAGS = {
  target: { type: "string" },
  region: { type: "string" },
  prefix: { type: "string" },
  source: { type: "string" },
  yes: { type: "boolean", short: "y" },
  step: { type: "boolean" },
  from: { type: "string" },
  until: { type: "string" },
  keep: { type: "boolean" },
  verbose: { type: "boolean", short: "v" },
  "dry-run": { type: "boolean" },
  message: { type: "string" },
  email: { type: "string" },
  check: { type: "boolean" },
  prepare: { type: "boolean" },
  plan: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/**
 * The flag rules of each target: what it needs, what it cannot do, and the
 * source it ends up with. Everything else a target does differently is in
 * setup/targets/.
 */
const TARGET_FLAGS: Record<
  TargetKind,
  (f: { regionKnown: boolean; source: SourceChoice; endpoint?: string | undefined; plan: boolean }) => {
    source: SourceChoice;
  }
> = {
  aws({ regionKnown, source, endpoint }) {
    if (!regionKnown) {
      throw new ConfigError(
        "--target aws needs a region.",
        "Give one with --region eu-west-1 or REGION=eu-west-1 (any region where CodePipeline and Fargate run).",
      );
    }
    if (endpoint !== undefined) {
      throw new ConfigError(
        `AWS_ENDPOINT_URL is set (${endpoint}) but the target is AWS.`,
        "Unset AWS_ENDPOINT_URL for a real account, or use --target local to rehearse against that endpoint.",
      );
    }
    return { source };
  },
  local({ source, plan }) {
    if (plan) {
      throw new ConfigError(
        "--plan checks a real AWS account before a run; the local rehearsal has nothing to check.",
        "Give the region of the account to check: bin/run --region eu-west-1 --plan",
      );
    }
    if (source === "codecommit") {
      throw new ConfigError(
        "--source codecommit cannot be rehearsed locally: the emulator cannot store commits.",
        "Leave --source out (the rehearsal uses the S3 source) or use --target aws.",
      );
    }
    return { source: "s3" };
  },
};

export interface Terminal {
  readonly stdinIsTTY: boolean;
  readonly stderrIsTTY: boolean;
}

/** Parses flags and environment into a Config; throws ConfigError (exit 2) on bad input. */
/** The same rule as infra/monitoring.yaml's AlarmEmail parameter, so CloudFormation never refuses it later. */
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

function checkEmail(value: string): string {
  if (!EMAIL.test(value))
    throw new ConfigError(
      `--email ${JSON.stringify(value)} is not an email address.`,
      "Give one such as --email you@example.com, or leave --email out (the lesson reads its own inbox either way).",
    );
  return value;
}

export function readConfig(
  argv: readonly string[] = [],
  env: Env = process.env,
  // A terminal that reports no width (e.g. `docker run -t` before a size is set) cannot redraw a line in place.
  terminal: Terminal = {
    stdinIsTTY: Boolean(process.stdin.isTTY),
    stderrIsTTY: Boolean(process.stderr.isTTY) && (process.stderr.columns ?? 0) > 0,
  },
): Config {
  let values: ReturnType<typeof parseArgs<{ options: typeof FLAGS; strict: true }>>["values"];
  try {
    ({ values } = parseArgs({ args: [...argv], options: FLAGS, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new ConfigError((error as Error).message, "Run with --help to see the flags.", error);
  }

  if (values.check && values.prepare) {
    throw new ConfigError(
      "--check and --prepare cannot be used together: one only reads, the other builds.",
      "Run bin/lesson NN --prepare to catch up, then bin/lesson NN, then bin/lesson NN --check.",
    );
  }

  const regionGiven = nonEmpty(values.region) ?? nonEmpty(env.REGION);
  const targetFlag = values.target ?? (regionGiven ? "aws" : "local");
  if (targetFlag !== "aws" && targetFlag !== "local") {
    throw new ConfigError(`--target ${targetFlag} is not a target.`, "Use --target aws or --target local.");
  }
  const target: TargetKind = targetFlag;

  const prefix = values.prefix ?? nonEmpty(env.PREFIX) ?? "demo";
  if (!PREFIX_PATTERN.test(prefix)) {
    throw new ConfigError(
      `--prefix "${prefix}" cannot be used.`,
      "A prefix is 2 to 20 characters: lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen.",
    );
  }

  const source = (values.source ?? "auto").toLowerCase();
  if (source !== "codecommit" && source !== "s3" && source !== "auto") {
    throw new ConfigError(`--source ${values.source} is not a source.`, "Use --source codecommit, s3 or auto.");
  }

  const ci = Boolean(nonEmpty(env.CI)) && env.CI !== "false";
  const interactive = terminal.stdinIsTTY && !ci && !values.yes;
  const aws = readAwsSettings(env, values.region);
  const regionKnown = Boolean(regionGiven ?? nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION));
  const chosen = TARGET_FLAGS[target]({ regionKnown, source, endpoint: aws.endpoint, plan: Boolean(values.plan) });

  return Object.freeze({
    target,
    prefix,
    source: chosen.source,
    aws,
    images: readImages(env),
    interactive,
    yes: Boolean(values.yes),
    stepByStep: Boolean(values.step) && interactive,
    ...(values.from !== undefined ? { from: values.from } : {}),
    ...(values.until !== undefined ? { until: values.until } : {}),
    keep: Boolean(values.keep),
    verbose: Boolean(values.verbose),
    dryRun: Boolean(values["dry-run"]),
    plan: Boolean(values.plan),
    checkOnly: Boolean(values.check),
    prepare: Boolean(values.prepare),
    ...(values.message !== undefined ? { message: values.message } : {}),
    ...(values.email !== undefined ? { email: checkEmail(values.email) } : {}),
    help: Boolean(values.help),
    tty: terminal.stderrIsTTY,
    color: terminal.stderrIsTTY && nonEmpty(env.NO_COLOR) === undefined,
    inDemoImage: env.LAB_DEMO_IMAGE === "1",
    recordsDir: recordsDir(env),
    picturesDir: env.LAB_PICTURES_DIR ?? join(env.HOME ?? homedir(), ".aws-cicd-lab", "pictures"),
  });
}
