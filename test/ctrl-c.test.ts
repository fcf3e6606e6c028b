// Ctrl-C as a person presses it: the first waits for the work to stop at its
// next safe point and exits 130; a second stops at once, says so, and the
// process dies of the signal (a shell reports 130). Run in a child process:
// the second press ends the process that receives it.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const cli = fileURLToPath(new URL("../setup/cli.ts", import.meta.url));

/** A command whose work checks the signal only after `stopsAfterMs` (or never, with -1). */
function script(stopsAfterMs: number): string {
  return `
    import { begin, main, untilInterrupted } from ${JSON.stringify(cli)};
    const begun = begin(["--prefix", "lab-ctrlc"], { ...process.env, NO_COLOR: "1" }, {}, "help");
    const work = (signal) => new Promise((resolve, reject) => {
      const keepAlive = setInterval(() => {}, 1000);
      signal.addEventListener("abort", () => {
        if (${stopsAfterMs} < 0) return;
        setTimeout(() => { clearInterval(keepAlive); console.error("work stopped"); reject(new Error("aborted")); }, ${stopsAfterMs});
      });
      console.error("working");
    });
    process.exitCode = await main(begun, ({ abort }) => untilInterrupted(abort.signal, work(abort.signal)));
  `;
}

async function press(stopsAfterMs: number, presses: number) {
  const child = spawn(process.execPath, ["--input-type=module", "-e", script(stopsAfterMs)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let sent = 0;
  const onData = (chunk: Buffer) => {
    out += chunk.toString();
    // Each press once the previous one is answered: "working", then the first press's warning.
    const ready = [/working/, /stopping at the next safe point/][sent];
    if (sent < presses && ready?.test(out)) {
      sent += 1;
      child.kill("SIGINT");
    }
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on("exit", (c, s) => resolve([c, s])),
  );
  return { code, signal, out };
}

describe("Ctrl-C", () => {
  it("once: says it stops at the next safe point, waits for the work to stop there, then exits 130", async () => {
    const r = await press(300, 1);
    expect(r.code, r.out).toBe(130);
    expect(r.out).toMatch(
      /stopping at the next safe point[\s\S]*work stopped[\s\S]*Interrupted\.[\s\S]*run the same command again/,
    );
  });

  it("twice: stops at once without waiting for the work, says so, and dies of SIGINT", async () => {
    const r = await press(-1, 2);
    expect(r.signal, r.out).toBe("SIGINT");
    expect(r.out).toMatch(/stopping at the next safe point[\s\S]*Stopped at once[\s\S]*bin\/teardown/);
    expect(r.out).not.toContain("work stopped");
  });
});
