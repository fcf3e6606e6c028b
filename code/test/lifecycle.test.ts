// The real process: fails fast on bad config, and on SIGTERM stops accepting,
// finishes what is in flight and exits 0 within 10 s.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SECRET } from "./helpers.ts";

const server = join(import.meta.dirname, "../src/server.ts");
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
});

async function freePort(): Promise<number> {
  const probe = createServer().listen(0, "127.0.0.1");
  await once(probe, "listening");
  const { port } = probe.address() as { port: number };
  probe.close();
  return port;
}

function startApp(env: Record<string, string>): { child: ChildProcess; output: () => string } {
  let output = "";
  const child = spawn(process.execPath, [server], {
    env: { PATH: process.env.PATH ?? "", HOST: "127.0.0.1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr?.on("data", (c: Buffer) => (output += c.toString()));
  children.push(child);
  return { child, output: () => output };
}

async function waitForHealth(url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (
      await fetch(`${url}/health`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the app did not answer at ${url}`);
}

describe("the app process", () => {
  it("refuses to start without JWT_SECRET, with one clear line and exit code 1", async () => {
    const { child, output } = startApp({ PORT: String(await freePort()) });
    const [code] = (await once(child, "exit")) as [number];
    expect(code).toBe(1);
    expect(output().trim()).toMatch(/^lab-app: cannot start: JWT_SECRET is not set\./);
    expect(output()).not.toMatch(/\bat \S+:\d+/);
  });

  it("on SIGTERM finishes the request in flight, refuses new ones, and exits 0 within 10 s", async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const { child, output } = startApp({ PORT: String(port), JWT_SECRET: SECRET });
    await waitForHealth(url);

    const inFlight = fetch(`${url}/sleep/2`).then(async (r) => ({ status: r.status, body: await r.json() }));
    await new Promise((r) => setTimeout(r, 300));
    const signalled = performance.now();
    child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 200));

    await expect(fetch(`${url}/health`)).rejects.toThrow();
    expect(await inFlight).toEqual({ status: 200, body: { slept: 2 } });
    const [code] = (await once(child, "exit")) as [number];
    expect(code).toBe(0);
    expect(performance.now() - signalled).toBeLessThan(10_000);
    expect(output()).toContain('"msg":"stopped"');
  });

  it("ends a wait longer than the grace time with 503 so it still exits within 10 s", async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const { child } = startApp({ PORT: String(port), JWT_SECRET: SECRET });
    await waitForHealth(url);

    const inFlight = fetch(`${url}/sleep/30`).then((r) => r.status);
    await new Promise((r) => setTimeout(r, 300));
    const signalled = performance.now();
    child.kill("SIGTERM");

    expect(await inFlight).toBe(503);
    const [code] = (await once(child, "exit")) as [number];
    expect(code).toBe(0);
    expect(performance.now() - signalled).toBeLessThan(10_000);
  });
});
