// The build's shell without Docker: the engine session's loop
// (setup/lib/local/engine/session.ts) run by this machine's sh, as the build
// container runs it, carrying commandScript's shell state
// (setup/lib/local/codebuild/phases.ts) from command to command; and the
// session's output framing fed awkward chunks.
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { commandScript, exportScript, SUCCEEDING_VARIABLE } from "../setup/lib/local/codebuild/phases.ts";
import { markerReader, sessionLoop } from "../setup/lib/local/engine/session.ts";

const MARKER = "__test_marker_0123456789";

/** The session loop in a local sh process, read through markerReader as openShellSession reads it. */
function localSession(state: string, source: string) {
  const child = spawn(
    "sh",
    [
      "-c",
      sessionLoop(
        {
          shell: "sh",
          scriptPath: `${state}/command`,
          flagVariable: SUCCEEDING_VARIABLE,
          prelude: `mkdir -p ${state} && echo ${source} > ${state}/dir || exit 1`,
        },
        MARKER,
      ),
    ],
    // node on PATH for exportScript, as in the build image.
    { env: { PATH: `${dirname(process.execPath)}:/usr/bin:/bin`, FROM_CONTAINER: "set at start" } },
  );
  let waiting: ((code: number) => void) | undefined;
  const reader = markerReader(
    MARKER,
    (code) => waiting?.(code),
    () => undefined,
  );
  child.stdout.on("data", (chunk: Buffer) => reader.write(chunk));
  return {
    run(script: string, flag: string): Promise<{ code: number; output: string }> {
      let output = "";
      reader.output = (text) => (output += text);
      return new Promise((resolve) => {
        waiting = (code) => resolve({ code, output });
        child.stdin.write(`${flag} ${Buffer.from(script).toString("base64")}\n`);
      });
    },
    close: () => child.stdin.end(),
  };
}

let work: string;
let session: ReturnType<typeof localSession>;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "codebuild-shell-"));
  session = localSession(join(work, "state"), work);
});
afterAll(async () => {
  session.close();
  await rm(work, { recursive: true, force: true });
});

const command = (text: string, succeeding = true) =>
  session.run(commandScript(text, join(work, "state")), succeeding ? "1" : "0");

describe("version 0.2 shell state, one command at a time in one session", () => {
  it("carries plain assignments, exports and the directory from command to command", async () => {
    expect(await command(`IMAGE_TAG="v-$(echo 1.2.3)"`)).toEqual({ code: 0, output: "" });
    await command("export EXPORTED=yes");
    await command("mkdir -p out && cd out");
    const seen = await command(`echo "$IMAGE_TAG $EXPORTED $(basename "$PWD") $FROM_CONTAINER"`);
    expect(seen).toEqual({ code: 0, output: "v-1.2.3 yes out set at start\n" });
    await command(`cd "${work}"`);
  });

  it("sets CODEBUILD_BUILD_SUCCEEDING from the session's flag, whatever a command set it to", async () => {
    await command("CODEBUILD_BUILD_SUCCEEDING=7");
    expect((await command("echo $CODEBUILD_BUILD_SUCCEEDING", false)).output).toBe("0\n");
    expect((await command("echo $CODEBUILD_BUILD_SUCCEEDING")).output).toBe("1\n");
    // The session's own variables never become the build's.
    const saved = `grep -c -e '^export __lab_' -e '^export ${SUCCEEDING_VARIABLE}=' "${join(work, "state", "env")}" || true`;
    expect((await command(saved)).output).toBe("0\n");
  });

  it("returns a command's exit status; `exit` ends that command only", async () => {
    expect(await command("exit 0")).toEqual({ code: 0, output: "" });
    expect(await command("sh -c 'echo \"to stderr\" >&2; exit 3'")).toEqual({ code: 3, output: "to stderr\n" });
    expect(await command("AFTER=ran; false")).toMatchObject({ code: 1 });
    expect((await command("echo $AFTER")).output).toBe("ran\n");
  });

  it("passes output on exactly: no final newline, many lines", async () => {
    expect(await command("printf no-newline")).toEqual({ code: 0, output: "no-newline" });
    const many = await command("seq 1 3000");
    expect(many.output.split("\n").slice(0, -1)).toEqual(Array.from({ length: 3000 }, (_, i) => String(i + 1)));
  });

  it("prints the exported variables from the state the last command left", async () => {
    await command("IMAGE_TAG=final");
    const out = await session.run(exportScript(["IMAGE_TAG", "NEVER_SET"], join(work, "state")), "1");
    expect(out.code).toBe(0);
    expect(JSON.parse(out.output)).toEqual({ IMAGE_TAG: "final", NEVER_SET: "" });
  });
});

describe("the session's output framing", () => {
  const frame = (chunks: Buffer[]) => {
    const outputs: string[] = [];
    const codes: number[] = [];
    const reader = markerReader(
      MARKER,
      (code) => codes.push(code),
      (text) => outputs.push(text),
    );
    for (const chunk of chunks) reader.write(chunk);
    return { text: outputs.join(""), outputs, codes, reader };
  };

  it("finds the marker split across chunks and passes on only what came before it", () => {
    const whole = Buffer.from(`hello\n${MARKER} 42\nleft`);
    const pieces = Array.from({ length: whole.length }, (_, i) => whole.subarray(i, i + 1));
    const { text, codes } = frame(pieces);
    expect(text).toBe("hello");
    expect(codes).toEqual([42]);
  });

  it("decodes a character split across chunks, and passes output on before the script ends", () => {
    const bytes = Buffer.from(`${"x".repeat(100)}é—€`);
    const { outputs, codes, reader } = frame([bytes.subarray(0, 101), bytes.subarray(101, 105), bytes.subarray(105)]);
    expect(codes).toEqual([]);
    expect(outputs.join("").length).toBeGreaterThan(0); // streamed, not held until the end
    reader.end();
    expect(outputs.join("")).toBe(`${"x".repeat(100)}é—€`);
  });
});
