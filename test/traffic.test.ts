// The traffic counter step 05 runs during a release, against a real HTTP
// server on 127.0.0.1: it counts failures (anything but 200, or no answer),
// and stopping it does not wait for, or count, a request still in flight.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { sharesWhile, trafficLine, watchTraffic } from "../setup/lib/traffic.ts";

let server: Server | undefined;

async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  server = createServer(handler);
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/time`;
}

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("watchTraffic", () => {
  it("counts every request and the ones that fail", async () => {
    let n = 0;
    const url = await serve((_req, res) => {
      n += 1;
      res.statusCode = n % 2 === 0 ? 503 : 200;
      res.end("{}");
    });
    const traffic = watchTraffic(url, 10);
    await sleep(300);
    const seen = await traffic.stop();
    // The server may have answered one request more: the one in flight when stop() cut it, not counted.
    expect([n - 1, n]).toContain(seen.total);
    expect(seen.total).toBeGreaterThan(4);
    // Answers alternate 200, 503, …: of the first `total`, every second one failed.
    expect(seen.failed).toBe(Math.floor(seen.total / 2));
    // What the failed ones got is said with them.
    expect(seen.failures).toEqual({ "503": seen.failed });
    expect(trafficLine(url, seen)).toMatch(
      new RegExp(
        `^${seen.total} requests to ${url} during the release, ${seen.failed} failed \\(503 ×${seen.failed}\\) \\(slowest \\d+ ms\\)$`,
      ),
    );
  });

  it("counts a refused connection as a failure", async () => {
    const url = await serve((_req, res) => res.end("{}"));
    server?.close();
    server?.closeAllConnections();
    const traffic = watchTraffic(url, 10);
    await sleep(100);
    const seen = await traffic.stop();
    expect(seen.total).toBeGreaterThan(0);
    expect(seen.failed).toBe(seen.total);
    expect(seen.failures).toEqual({ "no answer": seen.total });
  });

  it("counts the answers by the version they carry, with when they came", async () => {
    let n = 0;
    const url = await serve((_req, res) => {
      n += 1;
      res.end(JSON.stringify({ version: n % 5 === 0 ? "canary" : "stable" }));
    });
    const traffic = watchTraffic(url, 5);
    await sleep(300);
    const seen = await traffic.stop();
    const stable = seen.versions.stable?.requests ?? 0;
    const canary = seen.versions.canary?.requests ?? 0;
    expect(stable + canary).toBe(seen.total);
    expect(canary).toBe(Math.floor(seen.total / 5));
    expect(seen.answers.map((a) => a.version).filter((v) => v === "canary")).toHaveLength(canary);
    // Between the first and the last canary answer: one canary in five.
    const during = sharesWhile(seen, "canary");
    expect(during.canary).toBe(canary);
    expect(during.stable).toBe(Math.max(0, (canary - 1) * 4));
  });

  it("stops without waiting for, or counting, the request it cut", async () => {
    let answered = 0;
    const url = await serve((_req, res) => {
      // The first request is answered; the second hangs until the counter stops.
      answered += 1;
      if (answered === 1) res.end("{}");
    });
    const traffic = watchTraffic(url, 10);
    await sleep(200);
    // The hanging request is cut, not waited for (the probe would wait 5 s) and not counted as a failure.
    const seen = await traffic.stop();
    expect(seen).toMatchObject({ total: 1, failed: 0 });
  });
});
