// What every step receives: the Config, the clients, the narrator, the abort
// signal (Ctrl-C), the target, and what earlier steps produced (or what their
// recovery read back).
import { fileURLToPath } from "node:url";
import type { Target, TargetContext } from "../targets/target.ts";
import type { AwsClients } from "./aws/clients.ts";
import type { CurrentSource } from "./aws/source.ts";
import type { Config } from "./config.ts";
import type { Narrator } from "./ui/narrator.ts";

export const CODE_DIR = fileURLToPath(new URL("../../code/", import.meta.url));

export interface RunState {
  accountId?: string;
  /** The ids of the steps this invocation runs, so a step can start early what a later one needs. */
  steps?: readonly string[];
  /** Step 01 started creating the environment stack (step 03 follows it to the end). */
  environmentStarted?: boolean;
  /** Step 01: the artifact bucket. */
  bucket?: string;
  /** Step 02: what the pipeline builds. */
  source?: CurrentSource;
  /** Step 03: the environment stack's AppUrl output, the load balancer's URL (on the emulator, a name that does not resolve). */
  loadBalancerUrl?: string;
  /** Step 04: where the released app answers (the load balancer on AWS, the local stand-in otherwise). */
  appUrl?: string;
  /** The version the app serves. */
  version?: string;
  /** What this run created, for the summary. */
  created: string[];
}

/** What a check needs: it only reads. */
export interface CheckContext {
  readonly config: Config;
  readonly aws: AwsClients;
  readonly target: Target;
}

export interface RunContext extends TargetContext, CheckContext {
  readonly state: RunState;
}

export function createContext(
  config: Config,
  target: Target,
  ui: Narrator,
  signal: AbortSignal,
  state: Partial<RunState> = {},
): RunContext {
  return { config, target, ui, aws: target.clients(config.aws), signal, state: { created: [], ...state } };
}
