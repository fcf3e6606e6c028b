// The build stand-in against the Docker engine, with small buildspecs: each
// test runs a real build container of the build image and checks one of
// CodeBuild's rules (shell state, phase transitions, reports, artifacts).
import { unzipSync } from "fflate";
import { afterAll, describe, expect, it } from "vitest";
import { readImages } from "../setup/lib/config.ts";
import { type BuildResult, runBuild } from "../setup/lib/local/codebuild/build.ts";
import { removeContainers } from "../setup/lib/local/engine/client.ts";
import { findRehearsal } from "../setup/lib/local/engine/rehearsal.ts";

const PREFIX = "codebuild-test";
const encode = (text: string) => new TextEncoder().encode(text);

function build(
  buildspec: string,
  files: Record<string, string> = {},
  env: Record<string, string>[] = [],
  timeoutMinutes = 5,
) {
  const source = new Map(Object.entries({ "buildspec.yml": buildspec, ...files }).map(([k, v]) => [k, encode(v)]));
  return runBuild({
    prefix: PREFIX,
    image: readImages(process.env).build,
    projectName: "demo-build",
    buildspecFile: "buildspec.yml",
    timeoutMinutes,
    source,
    environment: env,
  });
}

const phase = (result: BuildResult, name: string) => result.phases.find((p) => p.name === name)?.status;
const printed = (result: BuildResult) => result.log.filter((l) => !l.startsWith("[Container]"));

afterAll(async () => {
  await removeContainers((await findRehearsal(PREFIX)).map((c) => c.id));
});

describe("the build stand-in runs a buildspec with CodeBuild's rules", () => {
  it("keeps variables and the directory from command to command and phase to phase, and exports variables", async () => {
    const result = await build(
      `version: 0.2
env:
  variables:
    FROM_BUILDSPEC: buildspec
    OVERRIDDEN: buildspec
  exported-variables: [IMAGE_TAG]
phases:
  pre_build:
    commands:
      - IMAGE_TAG="v-$(cat VERSION)"
      - mkdir -p out && cd out
  build:
    commands:
      - echo "tag=$IMAGE_TAG dir=$(basename "$PWD") from=$FROM_BUILDSPEC overridden=$OVERRIDDEN src=$CODEBUILD_SRC_DIR"
`,
      { VERSION: "1.2.3" },
      [{ CODEBUILD_SRC_DIR: "/codebuild/output/src", OVERRIDDEN: "project" }, { OVERRIDDEN: "start-build" }],
    );
    expect(result.status).toBe("SUCCEEDED");
    expect(printed(result)).toContain(
      "tag=v-1.2.3 dir=out from=buildspec overridden=start-build src=/codebuild/output/src",
    );
    expect(result.exportedVariables).toEqual({ IMAGE_TAG: "v-1.2.3" });
  });

  it("passes each command's output on exactly: stderr, no final newline, many lines, a command that exits its shell", async () => {
    const result = await build(
      `version: 0.2
phases:
  build:
    commands:
      - echo to-stderr >&2
      - printf no-newline
      - seq 1 5000
      - cat
      - exit 0
      - echo after-exit
`,
    );
    expect(result.status).toBe("SUCCEEDED");
    const lines = printed(result);
    expect(lines).toContain("to-stderr");
    expect(lines).toContain("no-newline");
    const numbers = lines.filter((l) => /^\d+$/.test(l));
    expect(numbers).toEqual(Array.from({ length: 5000 }, (_, i) => String(i + 1)));
    // `exit` ends that command only, as in CodeBuild; the next command runs.
    expect(lines).toContain("after-exit");
  });

  it("stops the build where it stands at the project's timeout (TIMED_OUT, BUILD_TIMED_OUT)", async () => {
    const result = await build(
      `version: 0.2
phases:
  build:
    commands:
      - echo started
      - sleep 60
      - echo never
`,
      {},
      [],
      0.05,
    );
    expect(result.status).toBe("TIMED_OUT");
    expect(result.failure).toMatch(/^Phase: BUILD, Code: BUILD_TIMED_OUT/);
    expect(printed(result)).toContain("started");
    expect(printed(result)).not.toContain("never");
  });

  it("stops a phase at its failing command, still runs its finally, and ends the build after PRE_BUILD", async () => {
    const result = await build(`version: 0.2
phases:
  pre_build:
    commands:
      - echo first
      - sh -c 'echo "about to fail" >&2; exit 3'
      - echo never
    finally:
      - echo cleaning up
  build:
    commands:
      - echo building
  post_build:
    commands:
      - echo post
`);
    expect(result.status).toBe("FAILED");
    expect(printed(result)).toEqual(["first", "about to fail", "cleaning up"]);
    expect([phase(result, "PRE_BUILD"), phase(result, "BUILD"), phase(result, "POST_BUILD")]).toEqual([
      "FAILED",
      "SKIPPED",
      "SKIPPED",
    ]);
    expect(phase(result, "UPLOAD_ARTIFACTS")).toBeUndefined();
    expect(result.failure).toBe(
      "Phase: PRE_BUILD, Code: COMMAND_EXECUTION_ERROR, Message: Error while executing command: sh -c 'echo \"about to fail\" >&2; exit 3'. Reason: exit status 3",
    );
  });

  it("runs POST_BUILD after BUILD failed, with CODEBUILD_BUILD_SUCCEEDING=0, then still uploads", async () => {
    const result = await build(
      `version: 0.2
phases:
  build:
    commands:
      - echo "succeeding=$CODEBUILD_BUILD_SUCCEEDING"
      - "false"
  post_build:
    commands:
      - echo "succeeding=$CODEBUILD_BUILD_SUCCEEDING"
artifacts:
  files: [kept.txt]
`,
      { "kept.txt": "x" },
    );
    expect(result.status).toBe("FAILED");
    expect(printed(result)).toEqual(["succeeding=1", "succeeding=0"]);
    expect([phase(result, "BUILD"), phase(result, "POST_BUILD"), phase(result, "UPLOAD_ARTIFACTS")]).toEqual([
      "FAILED",
      "SUCCEEDED",
      "SUCCEEDED",
    ]);
    expect(result.artifact).toBeUndefined(); // a failed build hands nothing to the next action
  });

  it("reads JUnit reports, and fails UPLOAD_ARTIFACTS when a report's files are missing", async () => {
    const junit = `<?xml version="1.0"?><testsuites><testsuite name="app"><testcase name="a"/><testcase name="b"><failure message="no&#10;second line" type="AssertionError">stack</failure></testcase><testcase name="c"><skipped/></testcase></testsuite></testsuites>`;
    const result = await build(
      `version: 0.2
phases:
  build:
    commands:
      - mkdir -p reports && cp junit.xml reports/
reports:
  present:
    base-directory: reports
    files: [junit.xml]
  absent:
    base-directory: reports
    files: [missing.xml]
`,
      { "junit.xml": junit },
    );
    expect(result.reports.map((r) => r.name)).toEqual(["present"]);
    expect(result.reports[0]?.summary).toMatchObject({
      total: 3,
      passed: 1,
      failed: 1,
      skipped: 1,
      failures: ["app › b: no"],
    });
    expect(result.status).toBe("FAILED");
    expect(phase(result, "UPLOAD_ARTIFACTS")).toBe("FAILED");
    expect(result.failure).toBe(
      "Phase: UPLOAD_ARTIFACTS, Code: CLIENT_ERROR, Message: [absent: [report files not found in build]]",
    );
  });

  it("zips artifacts from base-directory, with discard-paths, and fails when nothing matches", async () => {
    const spec = (files: string) => `version: 0.2
phases:
  build:
    commands:
      - mkdir -p dist/nested && echo one > dist/a.txt && echo two > dist/nested/b.txt
artifacts:
  base-directory: dist
  discard-paths: yes
  files: [${files}]
`;
    const result = await build(spec(`"**/*"`));
    expect(result.status).toBe("SUCCEEDED");
    expect(Object.keys(unzipSync(result.artifact as Uint8Array)).sort()).toEqual(["a.txt", "b.txt"]);

    const none = await build(spec("nothing-here.txt"));
    expect(none.status).toBe("FAILED");
    expect(none.failure).toContain("CLIENT_ERROR, Message: no matching artifact paths found");
  });

  it("fails in DOWNLOAD_SOURCE with YAML_FILE_ERROR, naming the file and the problem, when the buildspec is not valid", async () => {
    const invalid = await build("version: 0.2\nphases:\n  build:\n    commands: [unclosed\n");
    expect(invalid.status).toBe("FAILED");
    expect(invalid.failure).toMatch(
      /^Phase: DOWNLOAD_SOURCE, Code: YAML_FILE_ERROR, Message: buildspec\.yml: is not valid YAML/,
    );
    const wrongPhase = await build("version: 0.2\nphases:\n  compile:\n    commands: [make]\n");
    expect(wrongPhase.failure).toContain(
      "buildspec.yml: phases.compile is not a phase (install, pre_build, build, post_build)",
    );
    const missing = await runBuild({
      prefix: PREFIX,
      image: readImages(process.env).build,
      projectName: "demo-build",
      buildspecFile: "buildspec.yml",
      timeoutMinutes: 5,
      source: new Map(),
      environment: [],
    });
    expect(missing.failure).toBe(
      "Phase: DOWNLOAD_SOURCE, Code: YAML_FILE_ERROR, Message: buildspec.yml is not in the source",
    );
  });

  it("says in one sentence that the build image is missing", async () => {
    await expect(
      runBuild({
        prefix: PREFIX,
        image: "aws-cicd-lab/no-such-build-image:1",
        projectName: "demo-build",
        buildspecFile: "buildspec.yml",
        timeoutMinutes: 5,
        source: new Map([["buildspec.yml", encode("version: 0.2\nphases:\n  build:\n    commands: [true]\n")]]),
        environment: [],
      }),
    ).rejects.toThrow(/^The build container \(aws-cicd-lab\/no-such-build-image:1\) did not start: /);
  });

  it("leaves no build container behind", async () => {
    expect((await findRehearsal(PREFIX)).filter((c) => c.role === "build")).toEqual([]);
  });
});
