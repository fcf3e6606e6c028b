// The log: every line leaves the process as it is logged (what CloudWatch
// sees on Fargate is the container's stdout), and passing health checks are
// not logged while failing ones are.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import express from "express";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createLogger, everyRequest } from "../src/log.ts";
import { startTestServer, type TestServer } from "./helpers.ts";

const logModule = pathToFileURL(join(import.meta.dirname, "../src/log.ts")).href;
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
});

/**
 * Resolves once stdout holds `text`; fails if the process ends first, or if
 * the line has not come after a bound far beyond any write (a buffered line
 * never comes while the process runs).
 */
function waitForOutput(child: ChildProcess, read: () => string, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (error?: Error) => {
      clearTimeout(timer);
      child.stdout?.off("data", check);
      child.off("exit", onExit);
      if (error) reject(error);
      else resolve();
    };
    const check = () => {
      if (read().includes(text)) done();
    };
    const onExit = () => done(new Error(`the process ended before writing ${text}; it wrote: ${read()}`));
    const timer = setTimeout(
      () => done(new Error(`${text} was logged but not written while the process ran; it wrote: ${read()}`)),
      10_000,
    );
    child.stdout?.on("data", check);
    child.once("exit", onExit);
    check();
  });
}

describe("the log's destination (stdout)", () => {
  it("writes each line while the process runs, without waiting for more lines or for the exit", async () => {
    // The app's own logger on a pipe, as on ECS: one line now, one more on request, then nothing until killed.
    const script = `
      const { createLogger } = await import(${JSON.stringify(logModule)});
      const logger = createLogger("info");
      logger.info("first line");
      process.stdin.once("data", () => logger.info("second line"));
    `;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    children.push(child);
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));

    await waitForOutput(child, () => out, '"msg":"first line"');
    child.stdin.write("go\n");
    await waitForOutput(child, () => out, '"msg":"second line"');
    expect(child.exitCode).toBeNull(); // still running: nothing was flushed by an exit
    child.kill("SIGKILL");
    await once(child, "exit");
    const lines = out.trim().split("\n");
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(["first line", "second line"]);
  });
});

describe("request log and health checks", () => {
  let app: TestServer;
  beforeAll(async () => {
    app = await startTestServer();
  });
  afterAll(async () => {
    await app.close();
  });

  const requestLines = (logs: ReadonlyArray<Record<string, unknown>>) => logs.filter((l) => l.msg === "request");

  it("does not log a passing health check, and still logs the request after it", async () => {
    const before = app.logs.length;
    expect((await fetch(`${app.url}/health`)).status).toBe(200);
    expect((await fetch(`${app.url}/time`)).status).toBe(200);
    // The /time line is written after the /health response finished, so its presence shows /health was skipped.
    await expect.poll(() => requestLines(app.logs.slice(before)).length).toBe(1);
    expect(requestLines(app.logs.slice(before))).toEqual([expect.objectContaining({ path: "/time", status: 200 })]);
  });

  it("logs other methods on /health", async () => {
    const before = app.logs.length;
    expect((await fetch(`${app.url}/health`, { method: "POST" })).status).toBe(404);
    await expect
      .poll(() => requestLines(app.logs.slice(before)))
      .toEqual([expect.objectContaining({ method: "POST", path: "/health", status: 404 })]);
  });

  it("logs a failing health check", async () => {
    // The request log middleware on a /health that fails, as a task that cannot serve answers it.
    const logs: Array<Record<string, unknown>> = [];
    const logger = createLogger("info", { write: (line: string) => void logs.push(JSON.parse(line) as never) });
    const failing = express();
    failing.use(everyRequest(logger, new AbortController().signal));
    failing.get("/health", (_req, res) => {
      res.status(503).json({ status: "unavailable" });
    });
    const server = failing.listen(0, "127.0.0.1");
    await once(server, "listening");
    try {
      const { port } = server.address() as AddressInfo;
      expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(503);
      await expect
        .poll(() => requestLines(logs))
        .toEqual([expect.objectContaining({ method: "GET", path: "/health", status: 503 })]);
    } finally {
      server.close();
    }
  });
});
