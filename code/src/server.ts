// Starts the app: reads the config (failing fast with a clear message), listens,
// and on SIGTERM stops accepting, lets in-flight requests finish and exits 0
// within 10 s — what ECS expects before it sends SIGKILL.
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import type { Logger } from "pino";
import { createApp } from "./app.ts";
import { tokenService } from "./auth.ts";
import { type AppConfig, ConfigError, readConfig } from "./config.ts";
import { createLogger } from "./log.ts";

/** In-flight requests get this long after SIGTERM; then long waits end early. */
export const GRACE_MS = 8_000;
/** After this, remaining connections are closed so the process exits in time. */
export const HARD_STOP_MS = 9_500;

export interface RunningServer {
  readonly server: Server;
  readonly port: number;
  /** Stops gracefully; resolves when every connection is closed. */
  stop(): Promise<void>;
}

export async function startServer(config: AppConfig, logger: Logger): Promise<RunningServer> {
  const stopping = new AbortController();
  const stopNow = new AbortController();
  const app = createApp({
    version: config.version,
    logger,
    tokens: tokenService(config.jwtSecret),
    stopping: stopping.signal,
    stopNow: stopNow.signal,
  });

  const server = app.listen(config.port, config.host);
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  // Longer than the load balancer's 60 s idle timeout, so the balancer, not
  // the app, closes idle connections (otherwise clients see occasional 502s).
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;

  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= new Promise<void>((resolve) => {
      stopping.abort();
      // A keep-alive connection whose request finishes after this point goes
      // idle and is closed by the next sweep, so close() can complete.
      const sweep = setInterval(() => server.closeIdleConnections(), 100);
      server.close(() => {
        clearInterval(sweep);
        resolve();
      });
      server.closeIdleConnections();
      setTimeout(() => stopNow.abort(), GRACE_MS).unref();
      setTimeout(() => server.closeAllConnections(), HARD_STOP_MS).unref();
    });
    return stopped;
  };

  return { server, port: (server.address() as AddressInfo).port, stop };
}

async function main(): Promise<void> {
  let config: AppConfig;
  try {
    config = readConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`lab-app: cannot start: ${error.message}\n`);
    process.exitCode = 1;
    return;
  }
  const logger = createLogger(config.logLevel);
  const running = await startServer(config, logger);
  logger.info({ port: running.port, version: config.version }, "listening");

  const onSignal = (signal: NodeJS.Signals) => {
    logger.info({ signal }, "stopping: finishing in-flight requests");
    void running.stop().then(() => {
      logger.info("stopped");
      // Lines are written as they come; this empties whatever the destination
      // still holds (any buffering one) before the process ends.
      logger.flush();
    });
  };
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);
}

if (import.meta.main) await main();
