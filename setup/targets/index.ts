// The target for a Config: a real account when a region is given, else the local rehearsal.
import type { Config } from "../lib/config.ts";
import { awsTarget } from "./aws.ts";
import { localTarget } from "./local.ts";
import type { Target } from "./target.ts";

export function targetFor(config: Config): Target {
  return config.target === "aws" ? awsTarget(config) : localTarget(config);
}

export type { Release, ReleaseInput, Session, Target, TargetContext, TeardownHooks } from "./target.ts";
