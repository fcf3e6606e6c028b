// Without a Docker engine, `npm test` must stop with one clear sentence and
// never report container tests as passed. The engine is hidden from a child
// process by mounting an empty /run over the real one (where docker.sock
// lives) in a private mount namespace, which needs root and unshare.
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..");
const canHideDocker = process.getuid?.() === 0 && spawnSync("unshare", ["--version"]).status === 0;

function withoutDocker(command: string): { status: number | null; output: string } {
  const home = mkdtempSync(join(tmpdir(), "lab-no-docker-"));
  const result = spawnSync("unshare", ["--mount", "sh", "-c", `mount -t tmpfs tmpfs /run && exec ${command}`], {
    cwd: root,
    encoding: "utf8",
    timeout: 60_000,
    // No DOCKER_HOST and an empty HOME: nothing points testcontainers at another engine.
    env: { ...process.env, DOCKER_HOST: "", HOME: home, NO_COLOR: "1", FORCE_COLOR: "0" },
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe.skipIf(!canHideDocker)("without a Docker engine (needs root and unshare)", () => {
  it("bin/doctor says what to install in one sentence, with no stack trace, and exits 2", () => {
    const { status, output } = withoutDocker("node bin/doctor");

    expect(status).toBe(2);
    const lines = output.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/Docker is not available.*Install Docker/);
    expect(output).not.toMatch(/^\s+at /m);
  });

  it("the container tests fail rather than pass", () => {
    const { status, output } = withoutDocker("npx vitest run test/emulator-s3.test.ts");

    expect(status).not.toBe(0);
    expect(output).toMatch(/Docker is not available/);
    expect(output).not.toMatch(/\d+ passed/);
  });
});
