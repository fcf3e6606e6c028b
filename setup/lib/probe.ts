// The one HTTP probe: a GET (or any request) with a short timeout that never
// throws, saying whether it answered, with what status, how fast, and its JSON
// body when it has one. Used by the app verification, the lesson checks, the
// rehearsal's containers and the traffic counter.
export interface Probe<T = unknown> {
  /** Answered 2xx. */
  readonly ok: boolean;
  /** The HTTP status, or 0 when nothing answered (refused, reset, timed out). */
  readonly status: number;
  readonly ms: number;
  /** The parsed JSON body, when there was one. */
  readonly json?: T;
  /** Why nothing answered, when nothing did. */
  readonly error?: string;
}

export async function probe<T = unknown>(
  url: string,
  init: RequestInit & { timeoutMs?: number } = {},
): Promise<Probe<T>> {
  const { timeoutMs = 5_000, signal, ...rest } = init;
  const started = performance.now();
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    const res = await fetch(url, { ...rest, signal: signal ? AbortSignal.any([timeout, signal]) : timeout });
    const text = await res.text();
    let json: T | undefined;
    try {
      json = text ? (JSON.parse(text) as T) : undefined;
    } catch {
      json = undefined;
    }
    return {
      ok: res.ok,
      status: res.status,
      ms: performance.now() - started,
      ...(json !== undefined ? { json } : {}),
    };
  } catch (error) {
    const e = error as Error & { cause?: Error };
    return { ok: false, status: 0, ms: performance.now() - started, error: e.cause?.message ?? e.message };
  }
}
