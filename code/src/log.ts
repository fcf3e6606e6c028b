// Structured JSON logs: one line per request (method, path, status, duration),
// except the load balancer's and the container's passing health checks.
import type { RequestHandler } from "express";
import { type DestinationStream, type Logger, pino } from "pino";

export function createLogger(level: string, destination?: DestinationStream): Logger {
  // Asynchronous writes keep logging off the request's hot path (the write
  // runs in libuv's thread pool), and with no minimum length every line is
  // handed to stdout as soon as the write before it is done: on Fargate each
  // line reaches CloudWatch within seconds, and a task that is killed loses
  // at most the lines queued behind the write in progress. On a normal exit
  // pino writes whatever is still queued.
  const stream = destination ?? pino.destination({ dest: 1, sync: false });
  // `time` stays pino's epoch milliseconds: formatting a date string for every
  // line costs more than the rest of the log call, and log tools read either.
  return pino({ level, base: undefined }, stream);
}

/**
 * A passing health check: the load balancer sends one per target every few
 * seconds and the container health check another, so logging them would bury
 * the requests that matter (and cost CloudWatch ingestion). A failing one is
 * logged: it is what makes the load balancer or ECS take the task out, and
 * the line is the evidence of why.
 */
function isPassingHealthCheck(method: string, path: string, status: number): boolean {
  return status === 200 && method === "GET" && path === "/health";
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
      if (isPassingHealthCheck(req.method, req.path, res.statusCode)) return;
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
