// What every step receives: the Config, the clients, the narrator, the abort
// signal (Ctrl-C), and what earlier steps produced.
import { fileURLToPath } from "node:url";
import { type AwsClients, awsClients } from "./aws/clients.ts";
import type { CurrentSource } from "./aws/source.ts";
import type { DeployOptions } from "./aws/stacks.ts";
import type { Config } from "./config.ts";
import type { Narrator } from "./ui/narrator.ts";
import { eventLine } from "./ui/stack-progress.ts";

export const CODE_DIR = fileURLToPath(new URL("../../code/", import.meta.url));

export interface RunState {
  accountId?: string;
  bucket?: string;
  source?: CurrentSource;
  /** The environment's load balancer URL (on the emulator, a name that does not resolve). */
  environmentUrl?: string;
  /** Where the app answers once released. */
  appUrl?: string;
  version?: string;
  created: string[];
}

export interface RunContext {
  readonly config: Config;
  readonly ui: Narrator;
  readonly aws: AwsClients;
  readonly signal: AbortSignal;
  readonly state: RunState;
  /** Stack deploy settings for this target, with a progress display bound to a spinner by the caller. */
  deployOptions(onLine: (text: string) => void, log: (text: string) => void): DeployOptions;
}

export function createContext(config: Config, ui: Narrator, signal: AbortSignal): RunContext {
  const local = config.target === "local";
  return {
    config,
    ui,
    aws: awsClients(config.aws),
    signal,
    state: { created: [] },
    deployOptions(onLine, log) {
      return {
        pollSeconds: local ? 1 : 5,
        maxWaitSeconds: local ? 120 : 1800,
        // The emulator records no outputs or exports for change sets (see setup/lib/aws/stacks.ts).
        method: local ? "direct" : "change-set",
        onNotice: (m) => log(m),
        onProgress: (progress, fresh) => {
          onLine(progress.summary());
          // Without a terminal every event is its own line; on one, only failures stay on screen.
          for (const line of fresh) {
            if (!config.tty || line.status.endsWith("_FAILED")) log(eventLine(line));
          }
        },
      };
    },
  };
}
