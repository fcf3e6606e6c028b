// CodeBuild's phase rules (setup/lib/local/codebuild/phases.ts) over a fake
// build shell, no Docker: the shell reads each buildspec command back out of
// commandScript and interprets a tiny command language, so every rule can be
// driven and observed in milliseconds. (The real shell state, carried by
// commandScript itself, is test/codebuild-shell.test.ts; the real container,
// test/codebuild.test.ts.)
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { unzipSync } from "fflate";
import { afterAll, describe, expect, it } from "vitest";
import { parseBuildspec } from "../setup/lib/local/codebuild/buildspec.ts";
import { buildLog } from "../setup/lib/local/codebuild/log.ts";
import {
  type BuildResult,
  type BuildShell,
  buildEnvironment,
  commandScript,
  exportScript,
  readBuildspec,
  runPhases,
} from "../setup/lib/local/codebuild/phases.ts";

const roots: string[] = [];
afterAll(async () => {
  await Promise.all(roots.map((r) => rm(r, { recursive: true, force: true })));
});

interface FakeShell extends BuildShell {
  /** The buildspec commands run, in order, with CODEBUILD_BUILD_SUCCEEDING as each saw it. */
  readonly ran: Array<{ command: string; succeeding: string }>;
  readonly exports: string[][];
}

/**
 * A build shell that interprets, one command per script:
 *   echo WORDS…   printf WORD   NAME=VALUE   cd DIR   exit N   write PATH TEXT   hang (until stopped)
 * with $NAME expanded; anything else is "not found" (127). Its source directory is a real temporary one.
 */
async function fakeShell(): Promise<FakeShell> {
  const root = await mkdtemp(join(tmpdir(), "codebuild-phases-"));
  roots.push(root);
  const vars = new Map<string, string>();
  let dir = root;
  let stopped = false;
  let hanging: ((code: number) => void) | undefined;
  const ran: FakeShell["ran"] = [];
  const exports: string[][] = [];
  const expand = (word: string) => word.replace(/\$(\w+)/g, (_, name: string) => vars.get(name) ?? "");
  return {
    ran,
    exports,
    async run(script, succeeding, onOutput) {
      if (stopped) return 137;
      const names = /Object\.fromEntries\((\[.*?\])\.map/.exec(script)?.[1];
      if (names) {
        const list = JSON.parse(names) as string[];
        expect(script).toBe(exportScript(list));
        exports.push(list);
        onOutput(JSON.stringify(Object.fromEntries(list.map((n) => [n, vars.get(n) ?? ""]))));
        return 0;
      }
      const quoted = /^eval '((?:[^']|'\\'')*)'$/m.exec(script)?.[1] ?? "";
      const command = quoted.replaceAll(`'\\''`, "'");
      expect(script).toBe(commandScript(command));
      vars.set("CODEBUILD_BUILD_SUCCEEDING", succeeding ? "1" : "0");
      ran.push({ command, succeeding: vars.get("CODEBUILD_BUILD_SUCCEEDING") ?? "" });
      const [verb = "", ...words] = command.split(" ").map(expand);
      const assignment = /^(\w+)=(.*)$/.exec(command);
      if (assignment?.[1]) vars.set(assignment[1], expand(assignment[2] ?? ""));
      else if (verb === "echo") onOutput(`${words.join(" ")}\n`);
      else if (verb === "printf") onOutput(words.join(" "));
      else if (verb === "cd") dir = join(dir, words[0] ?? "");
      else if (verb === "exit") return Number(words[0]);
      else if (verb === "write") {
        const file = join(dir, words[0] ?? "");
        await mkdir(join(file, ".."), { recursive: true });
        await writeFile(file, words.slice(1).join(" "));
      } else if (verb === "hang") return new Promise<number>((resolve) => (hanging = resolve));
      else {
        onOutput(`sh: 1: ${verb}: not found\n`);
        return 127;
      }
      return 0;
    },
    stop() {
      stopped = true;
      hanging?.(137);
    },
    collectSource: () => Promise.resolve(root),
  };
}

async function build(buildspec: string, options: { timeoutMinutes?: number; signal?: AbortSignal } = {}) {
  const shell = await fakeShell();
  const log = buildLog();
  const result = await runPhases({
    spec: parseBuildspec(buildspec, "buildspec.yml"),
    shell,
    log,
    timeoutMinutes: options.timeoutMinutes ?? 5,
    downloadSeconds: 0.5,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return { result, shell };
}

const statuses = (result: BuildResult) => result.phases.map((p) => `${p.name} ${p.status}`);
const printed = (result: BuildResult) => result.log.filter((l) => !l.startsWith("[Container]"));
/** CodeBuild's own lines, without their time. */
const container = (result: BuildResult) =>
  result.log.flatMap((l) => {
    const match = /^\[Container\] \d{4}-\d\d-\d\d \d\d:\d\d:\d\d (.*)$/.exec(l);
    return match ? [match[1]] : [];
  });

describe("CodeBuild's phase rules", () => {
  it("runs every command through commandScript, phase by phase in CodeBuild's order, and logs as CodeBuild does", async () => {
    const { result, shell } = await build(`version: 0.2
phases:
  post_build:
    commands: [echo four]
  build:
    commands: [echo three]
  install:
    commands: [echo one]
  pre_build:
    commands: ["TAG=v1", "printf two-$TAG"]
`);
    expect(result.status).toBe("SUCCEEDED");
    expect(shell.ran.map((r) => r.command)).toEqual([
      "echo one",
      "TAG=v1",
      "printf two-$TAG",
      "echo three",
      "echo four",
    ]);
    expect(printed(result)).toEqual(["one", "two-v1", "three", "four"]);
    expect(statuses(result)).toEqual([
      "DOWNLOAD_SOURCE SUCCEEDED",
      "INSTALL SUCCEEDED",
      "PRE_BUILD SUCCEEDED",
      "BUILD SUCCEEDED",
      "POST_BUILD SUCCEEDED",
      "UPLOAD_ARTIFACTS SUCCEEDED",
    ]);
    expect(result.phases[0]?.seconds).toBe(0.5);
    expect(container(result).slice(0, 4)).toEqual([
      "Entering phase INSTALL",
      "Running command echo one",
      "Phase complete: INSTALL State: SUCCEEDED",
      "Entering phase PRE_BUILD",
    ]);
    expect(container(result).slice(-3)).toEqual([
      "Phase complete: POST_BUILD State: SUCCEEDED",
      "Entering phase UPLOAD_ARTIFACTS",
      "Build succeeded",
    ]);
    expect(result.failure).toBeUndefined();
  });

  it("ends a phase at its failing command, still runs its finally, and ends the build after PRE_BUILD", async () => {
    const { result, shell } = await build(`version: 0.2
phases:
  pre_build:
    commands: [echo first, exit 3, echo never]
    finally: [echo cleaning up]
  build:
    commands: [echo building]
  post_build:
    commands: [echo post]
`);
    expect(result.status).toBe("FAILED");
    expect(shell.ran.map((r) => r.command)).toEqual(["echo first", "exit 3", "echo cleaning up"]);
    expect(statuses(result)).toEqual([
      "DOWNLOAD_SOURCE SUCCEEDED",
      "PRE_BUILD FAILED",
      "BUILD SKIPPED",
      "POST_BUILD SKIPPED",
    ]);
    expect(result.failure).toBe(
      "Phase: PRE_BUILD, Code: COMMAND_EXECUTION_ERROR, Message: Error while executing command: exit 3. Reason: exit status 3",
    );
    expect(container(result)).toContain("Command did not exit successfully exit 3 exit status 3");
    expect(container(result)).toContain("Phase complete: PRE_BUILD State: FAILED");
    expect(container(result).at(-1)).toBe("Build failed");
  });

  it("ends the build after INSTALL fails too, and names the first failure when the finally fails as well", async () => {
    const { result, shell } = await build(`version: 0.2
phases:
  install:
    commands: [missing-tool --version]
    finally: [exit 4, echo never]
  build:
    commands: [echo building]
`);
    expect(shell.ran.map((r) => r.command)).toEqual(["missing-tool --version", "exit 4"]);
    expect(printed(result)).toEqual(["sh: 1: missing-tool: not found"]);
    expect(statuses(result)).toEqual(["DOWNLOAD_SOURCE SUCCEEDED", "INSTALL FAILED", "BUILD SKIPPED"]);
    expect(result.failure).toBe(
      "Phase: INSTALL, Code: COMMAND_EXECUTION_ERROR, Message: Error while executing command: missing-tool --version. Reason: exit status 127",
    );
  });

  it("fails a phase whose finally fails after its commands succeeded", async () => {
    const { result } = await build(`version: 0.2
phases:
  build:
    commands: [echo built]
    finally: [exit 2]
`);
    expect(statuses(result)).toContain("BUILD FAILED");
    expect(result.failure).toBe(
      "Phase: BUILD, Code: COMMAND_EXECUTION_ERROR, Message: Error while executing command: exit 2. Reason: exit status 2",
    );
  });

  it("runs POST_BUILD after BUILD failed, with CODEBUILD_BUILD_SUCCEEDING=0, then still uploads but hands over no artifact", async () => {
    const { result, shell } = await build(`version: 0.2
phases:
  build:
    commands: [write kept.txt x, echo succeeding=$CODEBUILD_BUILD_SUCCEEDING, exit 1]
  post_build:
    commands: [echo succeeding=$CODEBUILD_BUILD_SUCCEEDING]
artifacts:
  files: [kept.txt]
`);
    expect(result.status).toBe("FAILED");
    expect(printed(result)).toEqual(["succeeding=1", "succeeding=0"]);
    expect(shell.ran.map((r) => r.succeeding)).toEqual(["1", "1", "1", "0"]);
    expect(statuses(result).slice(1)).toEqual(["BUILD FAILED", "POST_BUILD SUCCEEDED", "UPLOAD_ARTIFACTS SUCCEEDED"]);
    expect(container(result)).toContain("Uploading artifacts: kept.txt");
    expect(result.artifact).toBeUndefined();
    expect(result.failure).toMatch(/^Phase: BUILD, Code: COMMAND_EXECUTION_ERROR/);
  });

  it("goes on to the next phase after a phase with on-failure CONTINUE failed, and the build still fails", async () => {
    const { result, shell } = await build(`version: 0.2
phases:
  install:
    on-failure: CONTINUE
    commands: [exit 5]
  pre_build:
    commands: [echo succeeding=$CODEBUILD_BUILD_SUCCEEDING]
  build:
    commands: [echo building]
`);
    expect(shell.ran.map((r) => r.command)).toEqual([
      "exit 5",
      "echo succeeding=$CODEBUILD_BUILD_SUCCEEDING",
      "echo building",
    ]);
    expect(printed(result)).toEqual(["succeeding=0", "building"]);
    expect(statuses(result).slice(1)).toEqual([
      "INSTALL FAILED",
      "PRE_BUILD SUCCEEDED",
      "BUILD SUCCEEDED",
      "UPLOAD_ARTIFACTS SUCCEEDED",
    ]);
    expect(result.status).toBe("FAILED");
    expect(result.failure).toBe(
      "Phase: INSTALL, Code: COMMAND_EXECUTION_ERROR, Message: Error while executing command: exit 5. Reason: exit status 5",
    );
  });

  it("reads reports and zips artifacts from the source directory, with base-directory and discard-paths", async () => {
    const junit = `<testsuites><testsuite name="app"><testcase name="a"/><testcase name="b"><failure/></testcase></testsuite></testsuites>`;
    const { result } = await build(`version: 0.2
phases:
  build:
    commands: ["write reports/junit.xml ${junit.replaceAll('"', '\\"')}", write dist/a.txt one, write dist/nested/b.txt two]
reports:
  unit:
    base-directory: reports
    files: ["*.xml"]
artifacts:
  base-directory: dist
  discard-paths: yes
  files: ["**/*"]
`);
    expect(result.status).toBe("SUCCEEDED");
    expect(result.reports.map((r) => r.name)).toEqual(["unit"]);
    expect(result.reports[0]?.summary).toMatchObject({ total: 2, passed: 1, failed: 1, failures: ["app › b"] });
    const files = unzipSync(result.artifact as Uint8Array);
    expect(Object.keys(files).sort()).toEqual(["a.txt", "b.txt"]);
    expect(new TextDecoder().decode(files["b.txt"])).toBe("two");
    expect(container(result)).toEqual(
      expect.arrayContaining([
        "Preparing to copy test report files for unit: 1 file(s)",
        "Report unit: 2 test cases: 1 passed, 1 failed, 0 skipped",
      ]),
    );
  });

  it("fails UPLOAD_ARTIFACTS (CLIENT_ERROR) when reports or artifacts match nothing, in CodeBuild's words", async () => {
    const { result } = await build(`version: 0.2
phases:
  build:
    commands: [echo nothing written]
reports:
  absent:
    files: [missing.xml]
artifacts:
  files: [nothing-here.txt]
`);
    expect(result.status).toBe("FAILED");
    expect(statuses(result).at(-1)).toBe("UPLOAD_ARTIFACTS FAILED");
    expect(result.failure).toBe(
      "Phase: UPLOAD_ARTIFACTS, Code: CLIENT_ERROR, Message: [absent: [report files not found in build]] no matching artifact paths found",
    );
    expect(container(result)).toContain(
      "Phase context status code: CLIENT_ERROR Message: [absent: [report files not found in build]] no matching artifact paths found",
    );
    expect(result.artifact).toBeUndefined();
  });

  it("reads exported variables from the last command's state, only from a build that succeeded", async () => {
    const spec = (last: string) => `version: 0.2
env:
  exported-variables: [IMAGE_TAG, UNSET]
phases:
  build:
    commands: [IMAGE_TAG=v-7, "${last}"]
`;
    const ok = await build(spec("echo done"));
    expect(ok.result.exportedVariables).toEqual({ IMAGE_TAG: "v-7", UNSET: "" });
    expect(ok.shell.exports).toEqual([["IMAGE_TAG", "UNSET"]]);
    const failed = await build(spec("exit 1"));
    expect(failed.result.exportedVariables).toEqual({});
    expect(failed.shell.exports).toEqual([]);
  });

  it("stops the build where it stands at the project's timeout (TIMED_OUT, BUILD_TIMED_OUT)", async () => {
    const started = performance.now();
    const { result, shell } = await build(
      `version: 0.2
phases:
  build:
    commands: [echo started, hang, echo never]
  post_build:
    commands: [echo post]
artifacts:
  files: ["*"]
`,
      { timeoutMinutes: 0.001 },
    );
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(result.status).toBe("TIMED_OUT");
    expect(result.failure).toBe(
      "Phase: BUILD, Code: BUILD_TIMED_OUT, Message: Build has timed out after 0.001 minutes",
    );
    expect(shell.ran.map((r) => r.command)).toEqual(["echo started", "hang"]);
    expect(statuses(result).slice(1)).toEqual(["BUILD FAILED", "POST_BUILD SKIPPED"]);
    expect(container(result).at(-1)).toBe("Build timed_out");
  });

  it("stops between phases when the run is aborted", async () => {
    const controller = new AbortController();
    controller.abort(new Error("interrupted"));
    await expect(build("version: 0.2\nphases:\n  build:\n    commands: [echo x]\n", controller)).rejects.toThrow(
      "interrupted",
    );
  });
});

describe("the buildspec and the environment", () => {
  const encode = (text: string) => new TextEncoder().encode(text);

  it("fails in DOWNLOAD_SOURCE with YAML_FILE_ERROR when the buildspec is missing or cannot be read", () => {
    const log = buildLog();
    const missing = readBuildspec(new Map(), "buildspec.yml", log);
    expect(missing).toEqual({
      failed: {
        status: "FAILED",
        phases: [{ name: "DOWNLOAD_SOURCE", status: "FAILED", seconds: 0 }],
        failure: "Phase: DOWNLOAD_SOURCE, Code: YAML_FILE_ERROR, Message: buildspec.yml is not in the source",
        log: [expect.stringMatching(/YAML_FILE_ERROR Message: buildspec\.yml is not in the source$/)],
        exportedVariables: {},
        reports: [],
      },
    });
    const invalid = readBuildspec(
      new Map([["b.yml", encode("version: 0.2\nphases: [unclosed\n")]]),
      "b.yml",
      buildLog(),
    );
    expect("failed" in invalid && invalid.failed.failure).toMatch(
      /^Phase: DOWNLOAD_SOURCE, Code: YAML_FILE_ERROR, Message: b\.yml: is not valid YAML/,
    );
    const read = readBuildspec(
      new Map([["b.yml", encode("version: 0.2\nphases: {build: {commands: [make]}}\n")]]),
      "b.yml",
      buildLog(),
    );
    expect("spec" in read && read.spec.phases.build?.commands).toEqual(["make"]);
  });

  it("layers the environment: the buildspec's variables, then CodeBuild's, the project's and the overrides", () => {
    const spec = parseBuildspec("version: 0.2\nenv: {variables: {A: spec, B: spec}}\nphases: {}\n", "b.yml");
    expect(buildEnvironment(spec, [{ B: "codebuild", C: "codebuild" }, { C: "override" }])).toEqual({
      A: "spec",
      B: "codebuild",
      C: "override",
    });
  });
});
