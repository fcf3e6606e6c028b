// Starts the real app on an ephemeral port on 127.0.0.1, with its log lines captured.
import type { AppConfig } from "../src/config.ts";
import { createLogger } from "../src/log.ts";
import { type RunningServer, startServer } from "../src/server.ts";

export const SECRET = "test-secret-that-is-at-least-32-characters-long";

export interface TestServer {
  readonly url: string;
  readonly running: RunningServer;
  /** Parsed JSON log lines written so far. */
  readonly logs: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

export async function startTestServer(overrides: Partial<AppConfig> = {}): Promise<TestServer> {
  const logs: Array<Record<string, unknown>> = [];
  const sink = {
    write(line: string) {
      logs.push(JSON.parse(line) as Record<string, unknown>);
    },
  };
  const logger = createLogger(overrides.logLevel ?? "info", sink);
  const config: AppConfig = {
    port: 0,
    host: "127.0.0.1",
    logLevel: "info",
    jwtSecret: SECRET,
    version: "1.2.3",
    ...overrides,
  };
  const running = await startServer({ ...config, port: 0 }, logger);
  return {
    url: `http://127.0.0.1:${running.port}`,
    running,
    logs,
    close: () => running.stop(),
  };
}
