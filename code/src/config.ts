// The app's settings, read from the environment once at start-up. Anything
// wrong stops the start with a message that says which variable and what to do.
import { levels } from "pino";

export interface AppConfig {
  readonly port: number;
  /** Address to listen on: all interfaces in a container, 127.0.0.1 for local runs on the host's network. */
  readonly host: string;
  readonly logLevel: string;
  /** HS256 key for the tokens /auth issues; never logged. */
  readonly jwtSecret: string;
  /** The image tag this build came from, baked in as APP_VERSION. */
  readonly version: string;
}

export class ConfigError extends Error {}

export const MIN_SECRET_LENGTH = 32;

type Env = Readonly<Record<string, string | undefined>>;

function readPort(raw: string | undefined): number {
  if (raw === undefined || raw === "") return 8080;
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port < 1 || port > 65535) {
    throw new ConfigError(`PORT must be a whole number from 1 to 65535, not "${raw}".`);
  }
  return port;
}

function readLogLevel(raw: string | undefined): string {
  const level = raw === undefined || raw === "" ? "info" : raw.toLowerCase();
  const known = [...Object.keys(levels.values), "silent"];
  if (!known.includes(level)) throw new ConfigError(`LOG_LEVEL must be one of ${known.join(", ")}, not "${raw}".`);
  return level;
}

function readSecret(raw: string | undefined): string {
  if (raw === undefined || raw === "") {
    throw new ConfigError(
      `JWT_SECRET is not set. Give the app a random secret of at least ${MIN_SECRET_LENGTH} characters (e.g. \`openssl rand -base64 48\`); on ECS it comes from Secrets Manager.`,
    );
  }
  if (raw.length < MIN_SECRET_LENGTH) {
    throw new ConfigError(
      `JWT_SECRET is ${raw.length} characters long; it must be at least ${MIN_SECRET_LENGTH} (e.g. \`openssl rand -base64 48\`).`,
    );
  }
  return raw;
}

export function readConfig(env: Env): AppConfig {
  return Object.freeze({
    port: readPort(env.PORT),
    host: env.HOST?.trim() || "0.0.0.0",
    logLevel: readLogLevel(env.LOG_LEVEL),
    jwtSecret: readSecret(env.JWT_SECRET),
    version: env.APP_VERSION?.trim() || "dev",
  });
}
