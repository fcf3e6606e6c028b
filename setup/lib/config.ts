// Configuration is read here, once, from the environment (and, later, flags).
// Nothing else in the project reads process.env for these settings.

/** Container images the project runs or builds on. */
export interface Images {
  /** The AWS emulator (moto 5.1). */
  readonly moto: string;
  /** The Node 24 base that every Dockerfile builds on. */
  readonly node: string;
}

/** Where AWS calls go and as whom. */
export interface AwsSettings {
  readonly region: string;
  /** An emulator or other endpoint; unset means real AWS. */
  readonly endpoint?: string;
  /** A named profile from ~/.aws; unset means the SDK's default chain. */
  readonly profile?: string;
}

export interface Config {
  readonly aws: AwsSettings;
  readonly images: Images;
}

/** The images published by their projects; used when nothing else is configured. */
export const OFFICIAL_IMAGES: Images = Object.freeze({
  moto: "motoserver/moto:5.1.1",
  node: "node:24-bookworm-slim",
});

/** Names under which `npm run images` tags equivalents it builds itself. */
export const LOCAL_IMAGES: Images = Object.freeze({
  moto: "aws-cicd-lab/moto:5.1.1",
  node: "aws-cicd-lab/node:24-bookworm-slim",
});

/** Region used against the emulator when none is given; moto accepts any. */
export const EMULATOR_REGION = "us-east-1";

type Env = Readonly<Record<string, string | undefined>>;

const nonEmpty = (value: string | undefined): string | undefined =>
  value !== undefined && value.trim() !== "" ? value.trim() : undefined;

export function readImages(env: Env): Images {
  return Object.freeze({
    moto: nonEmpty(env.LAB_MOTO_IMAGE) ?? OFFICIAL_IMAGES.moto,
    node: nonEmpty(env.LAB_NODE_IMAGE) ?? OFFICIAL_IMAGES.node,
  });
}

export function readAwsSettings(env: Env): AwsSettings {
  const endpoint = nonEmpty(env.AWS_ENDPOINT_URL);
  const region = nonEmpty(env.REGION) ?? nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION);
  const profile = nonEmpty(env.AWS_PROFILE);
  return Object.freeze({
    region: region ?? EMULATOR_REGION,
    ...(endpoint ? { endpoint } : {}),
    ...(profile ? { profile } : {}),
  });
}

export function readConfig(env: Env = process.env): Config {
  return Object.freeze({ aws: readAwsSettings(env), images: readImages(env) });
}
