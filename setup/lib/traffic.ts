// What users saw during a release: requests to the app's URL, one after the
// other with a short pause, counted until stopped. The same counter on both
// targets; a failure is anything but 200 (or no answer within 5 s).
import { probe } from "./probe.ts";

export interface Traffic {
  readonly total: number;
  readonly failed: number;
  /** The failed requests by what they got: an HTTP status, or "no answer". */
  readonly failures: Readonly<Record<string, number>>;
  /** The slowest answer, in ms. */
  readonly slowestMs: number;
  /** Answers by the app version they carried (a JSON body's `version`, as GET / answers), when any did. */
  readonly versions: Readonly<Record<string, { readonly requests: number; readonly slowestMs: number }>>;
  /** When (epoch ms) each versioned answer came, and from which version: the shares over any window. */
  readonly answers: ReadonlyArray<{ readonly at: number; readonly version: string }>;
}

/** Each version's share of the answers that came between the first and the last answer of `version`. */
export function sharesWhile(seen: Traffic, version: string): Record<string, number> {
  const times = seen.answers.filter((a) => a.version === version).map((a) => a.at);
  if (times.length === 0) return {};
  const [from, to] = [Math.min(...times), Math.max(...times)];
  const counts: Record<string, number> = {};
  for (const a of seen.answers) if (a.at >= from && a.at <= to) counts[a.version] = (counts[a.version] ?? 0) + 1;
  return counts;
}

export function watchTraffic(url: string, pauseMs = 200): { stop(options?: { finish?: boolean }): Promise<Traffic> } {
  let total = 0;
  let failed = 0;
  const failures: Record<string, number> = {};
  let slowestMs = 0;
  const versions: Record<string, { requests: number; slowestMs: number }> = {};
  const answers: Array<{ at: number; version: string }> = [];
  let running = true;
  // Stopping cuts the request in flight; it was the counter's, not a user's, so it is not counted.
  const stopping = new AbortController();
  const loop = (async () => {
    while (running) {
      const answer = await probe<{ version?: unknown }>(url, { signal: stopping.signal });
      if (answer.status === 0 && stopping.signal.aborted) break;
      total += 1;
      if (answer.status !== 200) {
        failed += 1;
        const what = answer.status === 0 ? "no answer" : String(answer.status);
        failures[what] = (failures[what] ?? 0) + 1;
      }
      slowestMs = Math.max(slowestMs, answer.ms);
      const version = answer.json?.version;
      if (answer.status === 200 && typeof version === "string") {
        const seen = (versions[version] ??= { requests: 0, slowestMs: 0 });
        seen.requests += 1;
        seen.slowestMs = Math.max(seen.slowestMs, Math.round(answer.ms));
        answers.push({ at: Date.now(), version });
      }
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  })();
  return {
    /** Stops; with `finish`, the request in flight is answered and counted (a user's, not the counter's). */
    async stop(options: { finish?: boolean } = {}) {
      running = false;
      if (!options.finish) stopping.abort();
      await loop;
      return { total, failed, failures, slowestMs: Math.round(slowestMs), versions, answers };
    },
  };
}

/** "N requests to URL during the release, F failed (slowest S ms)", with what the failed ones got. */
export function trafficLine(url: string, seen: Traffic): string {
  return `${seen.total} requests to ${url} during the release, ${seen.failed} failed${failureDetail(seen)} (slowest ${seen.slowestMs} ms)`;
}

/** " (503 ×2, no answer ×1)" when any failed. */
export function failureDetail(seen: Traffic): string {
  const parts = Object.entries(seen.failures).map(([what, n]) => `${what} ×${n}`);
  return parts.length > 0 ? ` (${parts.join(", ")})` : "";
}
