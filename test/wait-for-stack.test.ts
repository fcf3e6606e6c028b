// code/scripts/wait-for-stack.sh, with the AWS CLI replaced by a stub that
// answers `describe-stacks --query Stacks[0].StackStatus --output text` from a
// list of statuses, one per call (the shape the real CLI prints).
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const script = join(import.meta.dirname, "..", "code", "scripts", "wait-for-stack.sh");

function waitWith(statuses: string[], timeout = "60"): { status: number | null; out: string; calls: number } {
  const dir = mkdtempSync(join(tmpdir(), "lab-wait-"));
  writeFileSync(join(dir, "statuses"), `${statuses.join("\n")}\n`);
  writeFileSync(join(dir, "calls"), "");
  // Prints the next status; NOT_FOUND is the CLI failing as it does for a missing stack.
  const stub = `#!/bin/sh
echo x >> "${dir}/calls"
n=$(wc -l < "${dir}/calls")
s=$(sed -n "\${n}p" "${dir}/statuses")
[ -n "$s" ] || s=$(tail -n 1 "${dir}/statuses")
if [ "$s" = NOT_FOUND ]; then echo "An error occurred (ValidationError): Stack with id x does not exist" >&2; exit 254; fi
echo "$s"
`;
  writeFileSync(join(dir, "aws"), stub);
  chmodSync(join(dir, "aws"), 0o755);
  const r = spawnSync("sh", [script, "demo-environment", timeout], {
    encoding: "utf8",
    env: { PATH: `${dir}:${process.env.PATH ?? ""}`, WAIT_INTERVAL: "0" },
  });
  const calls = spawnSync("wc", ["-l", join(dir, "calls")], { encoding: "utf8" })
    .stdout.trim()
    .split(" ")[0];
  return { status: r.status, out: `${r.stdout}${r.stderr}`, calls: Number(calls) };
}

describe("wait-for-stack.sh", () => {
  it("waits while the stack does not exist yet or is being created, then succeeds", () => {
    const r = waitWith(["NOT_FOUND", "CREATE_IN_PROGRESS", "CREATE_IN_PROGRESS", "CREATE_COMPLETE"]);
    expect(r.status).toBe(0);
    expect(r.calls).toBe(4);
    expect(r.out).toContain("demo-environment is ready (CREATE_COMPLETE)");
  });

  it("accepts an updated stack, and one whose update rolled back to the previous version", () => {
    expect(waitWith(["UPDATE_COMPLETE"]).status).toBe(0);
    expect(waitWith(["UPDATE_ROLLBACK_COMPLETE"]).status).toBe(0);
  });

  it("fails at once when the stack failed", () => {
    const r = waitWith(["CREATE_IN_PROGRESS", "ROLLBACK_COMPLETE"]);
    expect(r.status).toBe(1);
    expect(r.calls).toBe(2);
    expect(r.out).toMatch(/demo-environment is ROLLBACK_COMPLETE/);
  });

  it("gives up after its timeout", () => {
    const r = waitWith(["CREATE_IN_PROGRESS"], "0");
    expect(r.status).toBe(1);
    expect(r.out).toMatch(/still CREATE_IN_PROGRESS after 0s/);
  });
});
