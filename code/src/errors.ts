// Every error leaves the app as {"error": "<code>", "message": "<what to do>"}.
import type { ErrorRequestHandler, RequestHandler, Response } from "express";
import type { Logger } from "pino";

export class HttpError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function sendError(res: Response, status: number, code: string, message: string): void {
  res.status(status).json({ error: code, message });
}

export const ROUTES_HINT = "Try GET /, /health, /time, /contents, /sleep/:seconds or POST /auth.";

export const notFound: RequestHandler = (req, res) => {
  sendError(res, 404, "not_found", `There is no ${req.method} ${req.path}. ${ROUTES_HINT}`);
};

/** body-parser's error types, mapped to what the client should do about them. */
const BODY_ERRORS: Record<string, [number, string, string]> = {
  "entity.too.large": [413, "body_too_large", "The request body is over 10 kB; send a smaller JSON body."],
  "entity.parse.failed": [400, "malformed_json", "The body is not valid JSON; check quotes and commas."],
  "encoding.unsupported": [415, "unsupported_encoding", "Send the body as UTF-8 JSON."],
  "charset.unsupported": [415, "unsupported_charset", "Send the body as UTF-8 JSON."],
};

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) return next(error);
    if (error instanceof HttpError) return sendError(res, error.status, error.code, error.message);
    const type = (error as { type?: unknown } | null)?.type;
    const known = typeof type === "string" ? BODY_ERRORS[type] : undefined;
    if (known) return sendError(res, ...known);
    // Unexpected: the details go to the log, never to the client.
    logger.error({ err: error, method: req.method, path: req.path }, "unhandled error");
    sendError(
      res,
      500,
      "internal_error",
      "Something went wrong on our side; try again, and check the logs if it persists.",
    );
  };
}
