// Runs wrk against a URL on 127.0.0.1 and reads its summary.
import { $ } from "zx";

export interface WrkResult {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly requests: number;
  /** Non-2xx/3xx responses plus socket errors: must be 0 for the numbers to mean anything. */
  readonly errors: number;
}

export interface WrkRun {
  readonly url: string;
  readonly connections: number;
  readonly seconds: number;
  readonly script?: string;
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

function toMs(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text);
  if (!m?.[1] || !m[2]) throw new Error(`wrk printed a latency I cannot read: "${text}"`);
  return Math.round(Number(m[1]) * (UNIT_MS[m[2]] ?? Number.NaN) * 1000) / 1000;
}

export function parseWrk(output: string): WrkResult {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(output)?.[1];
  const p50 = /^\s+50%\s+(\S+)/m.exec(output)?.[1];
  const p99 = /^\s+99%\s+(\S+)/m.exec(output)?.[1];
  const requests = /(\d+) requests in/.exec(output)?.[1];
  if (!rps || !p50 || !p99 || !requests) throw new Error(`wrk's output has no summary:\n${output}`);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(output)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const socketErrors = socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0;
  return {
    requestsPerSecond: Number(rps),
    p50Ms: toMs(p50),
    p99Ms: toMs(p99),
    requests: Number(requests),
    errors: non2xx + socketErrors,
  };
}

export async function wrk(run: WrkRun): Promise<WrkResult> {
  if (!new URL(run.url).hostname.startsWith("127.")) throw new Error(`benchmarks load 127.0.0.1 only, not ${run.url}`);
  const script = run.script ? ["-s", run.script] : [];
  // One wrk thread: on two cores, the other belongs to the server under test.
  const out = await $({ quiet: true })`wrk -t1 -c${run.connections} -d${run.seconds}s --latency ${script} ${run.url}`;
  return parseWrk(out.stdout);
}
