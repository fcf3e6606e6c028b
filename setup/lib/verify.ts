// Proves the app answers at its URL, over real HTTP: healthy, the expected
// version, /time in the right shape, and the sign-in round trip.
import { checkExceptions, createWaiter, WaiterState } from "@smithy/util-waiter";
import { StepError } from "./errors.ts";
import { probe } from "./probe.ts";

export interface AppCheck {
  readonly name: string;
  readonly detail: string;
}

export interface WaitOptions {
  readonly maxWaitSeconds: number;
  /** Shortest and longest pause between attempts; the SDK's waiter backs off between them. */
  readonly minDelaySeconds?: number;
  readonly maxDelaySeconds?: number;
  readonly signal?: AbortSignal;
  readonly onAttempt?: (attempt: number, status: string) => void;
}

/** Polls GET /health with backoff until it answers 200. */
export async function waitForHealthy(url: string, options: WaitOptions): Promise<void> {
  let attempt = 0;
  const result = await createWaiter(
    {
      client: undefined,
      maxWaitTime: options.maxWaitSeconds,
      minDelay: options.minDelaySeconds ?? 1,
      maxDelay: options.maxDelaySeconds ?? 10,
      ...(options.signal ? { abortSignal: options.signal } : {}),
    },
    url,
    async () => {
      attempt += 1;
      const answer = await probe(`${url}/health`);
      options.onAttempt?.(attempt, answer.status ? `HTTP ${answer.status}` : (answer.error ?? "no answer"));
      return { state: answer.status === 200 ? WaiterState.SUCCESS : WaiterState.RETRY, reason: answer.status };
    },
  );
  try {
    checkExceptions(result);
  } catch (error) {
    throw new StepError(
      `${url}/health did not answer 200 within ${options.maxWaitSeconds} s.`,
      "Check that the service's tasks are running and healthy, then run the same command again.",
      error,
    );
  }
}

/** Checks /, /time and the /auth → /contents round trip; throws on the first that fails. */
export async function verifyApp(url: string, expectedVersion: string): Promise<AppCheck[]> {
  const checks: AppCheck[] = [];
  const fail = (what: string, detail: string): never => {
    throw new StepError(
      `${url}${what}: ${detail}`,
      "Look at the app's logs for this release, fix it, and release again.",
    );
  };

  const root = (await probe<{ service?: string; version?: string; hostname?: string }>(`${url}/`)).json ?? {};
  if (root.version !== expectedVersion) fail("/", `reports version "${root.version}", expected "${expectedVersion}"`);
  checks.push({ name: "GET /", detail: `${root.service} ${root.version} on ${root.hostname}` });

  const time = (await probe<{ message?: unknown; timestamp?: unknown }>(`${url}/time`)).json ?? {};
  if (typeof time.message !== "string" || !Number.isInteger(time.timestamp)) {
    fail("/time", `answered ${JSON.stringify(time)}, expected a message and an integer timestamp`);
  }
  checks.push({ name: "GET /time", detail: `"${String(time.message)}" at ${String(time.timestamp)}` });

  const auth = await probe<{ token?: string }>(`${url}/auth`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: "learner@example.com", password: "workshop" }),
  });
  const token = auth.json?.token;
  if (auth.status !== 200 || !token) fail("/auth", `answered ${auth.status} without a token`);
  const contents = await probe<{ email?: string }>(`${url}/contents`, {
    headers: { authorization: `Bearer ${token}` },
  });
  if (contents.status !== 200 || contents.json?.email !== "learner@example.com") {
    fail("/contents", `answered ${contents.status} ${JSON.stringify(contents.json)}`);
  }
  checks.push({ name: "POST /auth + GET /contents", detail: "token issued and accepted" });
  return checks;
}

/** A line the learner can paste to try the app. */
export function curlLine(url: string): string {
  return `curl -s ${url}/time`;
}
