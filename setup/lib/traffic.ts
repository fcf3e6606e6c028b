// What users saw during a release: requests to the app's URL, one after the
// other with a short pause, counted until stopped. The same counter on both
// targets; a failure is anything but 200 (or no answer within 5 s).
import { probe } from "./probe.ts";

export interface Traffic {
  readonly total: number;
  readonly failed: number;
  /** The slowest answer, in ms. */
  readonly slowestMs: number;
}

export function watchTraffic(url: string, pauseMs = 200): { stop(options?: { finish?: boolean }): Promise<Traffic> } {
  let total = 0;
  let failed = 0;
  let slowestMs = 0;
  let running = true;
  // Stopping cuts the request in flight; it was the counter's, not a user's, so it is not counted.
  const stopping = new AbortController();
  const loop = (async () => {
    while (running) {
      const answer = await probe(url, { signal: stopping.signal });
      if (answer.status === 0 && stopping.signal.aborted) break;
      total += 1;
      if (answer.status !== 200) failed += 1;
      slowestMs = Math.max(slowestMs, answer.ms);
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  })();
  return {
    /** Stops; with `finish`, the request in flight is answered and counted (a user's, not the counter's). */
    async stop(options: { finish?: boolean } = {}) {
      running = false;
      if (!options.finish) stopping.abort();
      await loop;
      return { total, failed, slowestMs: Math.round(slowestMs) };
    },
  };
}

/** "N requests to URL during the release, F failed (slowest S ms)". */
export function trafficLine(url: string, seen: Traffic): string {
  return `${seen.total} requests to ${url} during the release, ${seen.failed} failed (slowest ${seen.slowestMs} ms)`;
}
