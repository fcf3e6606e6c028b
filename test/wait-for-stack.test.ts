// code/scripts/wait-for-stack.sh, with the AWS CLI replaced by a stub that
// answers `describe-stacks --query Stacks[0].StackStatus --output text` from a
// list of answers, one per call: a status as the real CLI prints it, or one of
// the errors below, printed as AWS CLI v2 prints them (stderr, exit 254).
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const script = join(import.meta.dirname, "..", "code", "scripts", "wait-for-stack.sh");
const STACK = "demo-environment";

/** The CLI's errors, recorded from AWS CLI 2 (the message follows an empty line). */
const ERRORS: Record<string, string> = {
  NOT_FOUND: `An error occurred (ValidationError) when calling the DescribeStacks operation: Stack with id ${STACK} does not exist`,
  ACCESS_DENIED:
    "An error occurred (AccessDenied) when calling the DescribeStacks operation: User: arn:aws:sts::123456789012:assumed-role/demo-pipeline-BuildProjectRole-1A2B3C4D5E6F/AWSCodeBuild-0f1e2d3c is not authorized to perform: cloudformation:DescribeStacks on resource: arn:aws:cloudformation:eu-west-1:123456789012:stack/demo-environment/* because no identity-based policy allows the cloudformation:DescribeStacks action",
  EXPIRED:
    "An error occurred (ExpiredToken) when calling the DescribeStacks operation: The security token included in the request is expired",
  OTHER_STACK_MISSING:
    "An error occurred (ValidationError) when calling the DescribeStacks operation: Stack with id demo-environment-old does not exist",
  THROTTLED:
    "An error occurred (Throttling) when calling the DescribeStacks operation (reached max retries: 2): Rate exceeded",
};

function waitWith(answers: string[], timeout = "60"): { status: number | null; out: string; calls: number } {
  const dir = mkdtempSync(join(tmpdir(), "lab-wait-"));
  writeFileSync(join(dir, "answers"), `${answers.join("\n")}\n`);
  writeFileSync(join(dir, "calls"), "");
  for (const [name, message] of Object.entries(ERRORS)) writeFileSync(join(dir, `error-${name}`), `\n${message}\n`);
  // Prints the next answer (the last one again once the list is used up).
  const stub = `#!/bin/sh
echo "$*" >> "${dir}/calls"
n=$(wc -l < "${dir}/calls")
s=$(sed -n "\${n}p" "${dir}/answers")
[ -n "$s" ] || s=$(tail -n 1 "${dir}/answers")
if [ -f "${dir}/error-$s" ]; then cat "${dir}/error-$s" >&2; exit 254; fi
echo "$s"
`;
  writeFileSync(join(dir, "aws"), stub);
  chmodSync(join(dir, "aws"), 0o755);
  const r = spawnSync("sh", [script, STACK, timeout], {
    encoding: "utf8",
    env: { PATH: `${dir}:${process.env.PATH ?? ""}`, WAIT_INTERVAL: "0" },
  });
  const calls = readFileSync(join(dir, "calls"), "utf8").split("\n").filter(Boolean);
  for (const call of calls) expect(call).toContain(`cloudformation describe-stacks --stack-name ${STACK}`);
  return { status: r.status, out: `${r.stdout}${r.stderr}`, calls: calls.length };
}

describe("wait-for-stack.sh", () => {
  it("waits while the stack does not exist yet or is being created, then succeeds", () => {
    const r = waitWith(["NOT_FOUND", "CREATE_IN_PROGRESS", "CREATE_IN_PROGRESS", "CREATE_COMPLETE"]);
    expect(r.status).toBe(0);
    expect(r.calls).toBe(4);
    expect(r.out).toContain("demo-environment is ready (CREATE_COMPLETE)");
  });

  it("takes 'Stack with id … does not exist' as not created yet, and succeeds once it is", () => {
    const r = waitWith(["NOT_FOUND", "NOT_FOUND", "CREATE_COMPLETE"]);
    expect(r.status).toBe(0);
    expect(r.calls).toBe(3);
    expect(r.out).toContain("waiting for demo-environment (NOT_FOUND)");
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

  it("fails at once when access is denied (the build's role deleted meanwhile), naming the stack and the error", () => {
    const r = waitWith(["NOT_FOUND", "ACCESS_DENIED", "CREATE_COMPLETE"]);
    expect(r.status).toBe(1);
    expect(r.calls).toBe(2);
    const line = r.out.split("\n").find((l) => l.startsWith("wait-for-stack:"));
    expect(line).toMatch(
      /^wait-for-stack: cannot read the stack demo-environment, so not waiting for it: An error occurred \(AccessDenied\) when calling the DescribeStacks operation: User: .* is not authorized to perform: cloudformation:DescribeStacks/,
    );
  });

  it("fails at once on expired credentials", () => {
    const r = waitWith(["EXPIRED", "CREATE_COMPLETE"]);
    expect(r.status).toBe(1);
    expect(r.calls).toBe(1);
    expect(r.out).toContain(
      "cannot read the stack demo-environment, so not waiting for it: An error occurred (ExpiredToken)",
    );
  });

  it("does not take another stack's 'does not exist' as its own", () => {
    const r = waitWith(["OTHER_STACK_MISSING", "CREATE_COMPLETE"]);
    expect(r.status).toBe(1);
    expect(r.calls).toBe(1);
  });

  it("keeps waiting through throttling: the state is unknown for a round, not wrong", () => {
    const r = waitWith(["CREATE_IN_PROGRESS", "THROTTLED", "CREATE_COMPLETE"]);
    expect(r.status).toBe(0);
    expect(r.calls).toBe(3);
    expect(r.out).toContain("waiting for demo-environment (THROTTLED)");
  });

  it("gives up after its timeout", () => {
    const r = waitWith(["CREATE_IN_PROGRESS"], "0");
    expect(r.status).toBe(1);
    expect(r.out).toMatch(/still CREATE_IN_PROGRESS after 0s/);
  });
});
