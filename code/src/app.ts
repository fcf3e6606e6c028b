// The HTTP API. createApp wires routes to their dependencies; server.ts runs it.
import { hostname } from "node:os";
import express, { type Express, type RequestHandler } from "express";
import type { Logger } from "pino";
import { readCredentials, type TokenService } from "./auth.ts";
import { errorHandler, HttpError, notFound, sendError } from "./errors.ts";
import { everyRequest } from "./log.ts";

export const SERVICE = "lab-app";
export const TIME_MESSAGE = "Automation for the People";
export const MAX_SLEEP_SECONDS = 30;
export const MAX_BODY = "10kb";

export interface AppDeps {
  readonly version: string;
  readonly logger: Logger;
  readonly tokens: TokenService;
  /** Aborted when the server starts to stop: responses close their connection. */
  readonly stopping: AbortSignal;
  /** Aborted when in-flight requests have had their grace time: long waits end early. */
  readonly stopNow: AbortSignal;
}

/** Wraps an async handler so a rejection reaches the error handler. */
const handle =
  (fn: (...args: Parameters<RequestHandler>) => Promise<void>): RequestHandler =>
  (req, res, next) => {
    fn(req, res, next).catch(next);
  };

/** 415 unless the request says it is sending JSON. */
const requireJson: RequestHandler = (req, res, next) => {
  if (!req.is("application/json")) {
    return sendError(
      res,
      415,
      "unsupported_media_type",
      "Send the body as JSON with `Content-Type: application/json`.",
    );
  }
  next();
};

function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

export function createApp(deps: AppDeps): Express {
  const app = express();
  // No framework banner; no ETag hashing of every small, always-fresh body.
  app.disable("x-powered-by");
  app.set("etag", false);
  app.use(everyRequest(deps.logger, deps.stopping));

  const identity = { service: SERVICE, version: deps.version, hostname: hostname() };

  app.get("/health", (_req, res) => {
    res.json({ status: "ok" });
  });

  app.get("/", (_req, res) => {
    res.json(identity);
  });

  app.get("/time", (_req, res) => {
    res.json({ message: TIME_MESSAGE, timestamp: Math.floor(Date.now() / 1000) });
  });

  app.post(
    "/auth",
    requireJson,
    express.json({ limit: MAX_BODY, strict: false }),
    handle(async (req, res) => {
      const { email } = readCredentials(req.body);
      res.json({ token: await deps.tokens.issue(email) });
    }),
  );

  app.get(
    "/contents",
    handle(async (req, res) => {
      res.json(await deps.tokens.verify(req.get("authorization")));
    }),
  );

  app.get(
    "/sleep/:seconds",
    handle(async (req, res) => {
      const raw = String(req.params.seconds);
      const seconds = /^(0|[1-9]\d?)$/.test(raw) ? Number(raw) : Number.NaN;
      if (!(seconds <= MAX_SLEEP_SECONDS)) {
        throw new HttpError(
          400,
          "invalid_seconds",
          `seconds must be a whole number from 0 to ${MAX_SLEEP_SECONDS}, not "${raw}".`,
        );
      }
      if (await sleep(seconds * 1000, deps.stopNow)) {
        res.json({ slept: seconds });
      } else {
        sendError(res, 503, "shutting_down", "This instance is stopping; send the request again to reach another one.");
      }
    }),
  );

  app.use(notFound);
  app.use(errorHandler(deps.logger));
  return app;
}
