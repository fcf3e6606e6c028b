// An unexpected failure inside a handler: 500 JSON for the client, details only in the log.
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { createApp } from "../src/app.ts";
import { createLogger } from "../src/log.ts";

describe("unexpected errors", () => {
  it("become a 500 JSON answer with no stack trace, and the error is logged", async () => {
    const logs: Array<Record<string, unknown>> = [];
    const logger = createLogger("info", {
      write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>),
    });
    const app = createApp({
      version: "t",
      logger,
      // A token service whose signing breaks, as a bug or a broken dependency would.
      tokens: {
        issue: () => Promise.reject(new Error("disk on fire at /srv/secret/path")),
        verify: () => Promise.reject(new Error("unreachable")),
      },
      stopping: new AbortController().signal,
      stopNow: new AbortController().signal,
    });
    const server = app.listen(0, "127.0.0.1");
    await new Promise((r) => server.once("listening", r));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/auth`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: "a@example.com", password: "x" }),
      });
      const text = await res.text();
      expect(res.status).toBe(500);
      expect(JSON.parse(text)).toMatchObject({ error: "internal_error" });
      expect(text).not.toContain("disk on fire");
      expect(text).not.toMatch(/\bat \S+:\d+/);
      const logged = logs.find((l) => l.msg === "unhandled error");
      expect(JSON.stringify(logged)).toContain("disk on fire");
    } finally {
      server.close();
    }
  });
});
