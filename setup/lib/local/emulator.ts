// The local AWS emulator (moto) in a container, published on 127.0.0.1 only.
import { Wait } from "testcontainers";
import { startContainer } from "./containers.ts";

const MOTO_PORT = 5000;

export interface Emulator {
  /** e.g. http://127.0.0.1:32768 — give it to the client factory as the endpoint. */
  readonly endpoint: string;
  readonly containerId: string;
  /** Safe to call more than once: a test may stop it early, the fixture always does. */
  stop(): Promise<void>;
}

export async function startEmulator(options: {
  image: string;
  runId: string;
  labels?: Record<string, string>;
}): Promise<Emulator> {
  const container = await startContainer({
    image: options.image,
    port: MOTO_PORT,
    runId: options.runId,
    ...(options.labels ? { labels: options.labels } : {}),
    wait: Wait.forHttp("/moto-api/", MOTO_PORT).forStatusCode(200),
    stopTimeoutMs: 2_000,
  });
  return { endpoint: container.url, containerId: container.id, stop: () => container.stop() };
}
