// Structured JSON logs: one line per request (method, path, status, duration).
import type { RequestHandler } from "express";
import { type DestinationStream, type Logger, pino } from "pino";

export function createLogger(level: string, destination?: DestinationStream): Logger {
  // Buffered, asynchronous writes keep logging off the request's hot path;
  // server.ts flushes the buffer before the process exits.
  const stream = destination ?? pino.destination({ dest: 1, sync: false, minLength: 4096 });
  // `time` stays pino's epoch milliseconds: formatting a date string for every
  // line costs more than the rest of the log call, and log tools read either.
  return pino({ level, base: undefined }, stream);
}

/**
 * One middleware for what every request needs, since each middleware layer
 * costs a dispatch: the request log line and, while the server is stopping,
 * `Connection: close` so keep-alive clients reconnect (to another task).
 */
export function everyRequest(logger: Logger, stopping: AbortSignal): RequestHandler {
  return (req, res, next) => {
    if (stopping.aborted) res.set("Connection", "close");
    if (!logger.isLevelEnabled("info")) return next();
    const started = performance.now();
    res.once("finish", () => {
      logger.info(
        {
          method: req.method,
          // The path only: query strings can carry data that does not belong in logs.
          path: req.path,
          status: res.statusCode,
          durationMs: Math.round((performance.now() - started) * 100) / 100,
        },
        "request",
      );
    });
    next();
  };
}
