// The AWS CLI and the Docker CLI replaced by stubs, for running the app's
// build scripts and buildspecs as CodeBuild runs them, without AWS or a
// registry. The stubs keep one small state file: the repository's images (ECR
// answers describe-images from it, `docker push` adds to it) and the images
// `docker build` made. Every call is recorded. Errors are printed as AWS CLI 2
// prints them (an empty line, then the message on stderr; exit 254).
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";

export const CODE = join(import.meta.dirname, "..", "code");
export const ACCOUNT = "123456789012";
export const REGISTRY = `${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com`;
export const REPOSITORY = "demo-app";
export const REPOSITORY_URI = `${REGISTRY}/${REPOSITORY}`;

export interface StubState {
  /** The repository's images in ECR, each with its tags. */
  images: Array<{ id: string; tags: string[] }>;
  /** Images `docker build` made here: local tag → image id. */
  local: Record<string, string>;
  /** Make `aws ecr-public get-login-password` fail (the role lacks the grant). */
  ecrPublicDenied?: boolean;
  /** Make `aws ecr describe-images` fail with AccessDeniedException. */
  describeDenied?: boolean;
  /** Make `docker login` fail (the registry refuses the token). */
  dockerLoginFails?: boolean;
}

export interface Call {
  readonly tool: "aws" | "docker";
  readonly args: string[];
  /** What `docker login --password-stdin` read. */
  readonly stdin?: string;
}

const STUB = String.raw`
import { readFileSync, writeFileSync, appendFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
const dir = process.env.LAB_STUB_DIR;
const [tool, ...args] = process.argv.slice(2);
const stateFile = join(dir, "state.json");
const state = JSON.parse(readFileSync(stateFile, "utf8"));
const save = () => writeFileSync(stateFile, JSON.stringify(state));
const call = { tool, args };
// As docker login reads --password-stdin: without the trailing newline.
if (tool === "docker" && args[0] === "login") call.stdin = readFileSync(0, "utf8").replace(/\r?\n$/, "");
appendFileSync(join(dir, "calls.jsonl"), JSON.stringify(call) + "\n");
const fail = (message) => { process.stderr.write("\n" + message + "\n"); process.exit(254); };
const opt = (name) => { const i = args.indexOf(name); return i < 0 ? undefined : args[i + 1]; };
const is = (...words) => words.every((w, i) => args[i] === w);

if (tool === "aws") {
  if (is("ecr-public", "get-login-password")) {
    if (state.ecrPublicDenied) fail("An error occurred (AccessDeniedException) when calling the GetAuthorizationToken operation: User: arn:aws:sts::${ACCOUNT}:assumed-role/demo-pipeline-TestProjectRole-1A2B3C/AWSCodeBuild-1 is not authorized to perform: ecr-public:GetAuthorizationToken on resource: * because no identity-based policy allows the ecr-public:GetAuthorizationToken action");
    if (opt("--region") !== "us-east-1") fail("An error occurred (UnrecognizedClientException) ECR Public tokens come from us-east-1 only");
    console.log("ecr-public-password");
  } else if (is("ecr", "get-login-password")) {
    console.log("ecr-password");
  } else if (is("ecr", "describe-images")) {
    if (state.describeDenied) fail("An error occurred (AccessDeniedException) when calling the DescribeImages operation: User: arn:aws:sts::${ACCOUNT}:assumed-role/demo-pipeline-BuildProjectRole-1A2B3C/AWSCodeBuild-1 is not authorized to perform: ecr:DescribeImages");
    const repo = opt("--repository-name");
    const tag = (opt("--image-ids") ?? "").replace(/^imageTag=/, "");
    if (repo !== "${REPOSITORY}") fail("An error occurred (RepositoryNotFoundException) when calling the DescribeImages operation: The repository with name '" + repo + "' does not exist in the registry with id '${ACCOUNT}'");
    // What the real CLI prints for this query: the image's tags, tab-separated, on one line.
    if (opt("--query") !== "imageDetails[0].imageTags" || opt("--output") !== "text") {
      console.error("stub: describe-images called in a way this stub does not answer: " + args.join(" "));
      process.exit(99);
    }
    const image = state.images.find((i) => i.tags.includes(tag));
    if (!image) fail("An error occurred (ImageNotFoundException) when calling the DescribeImages operation: The image with imageId {imageDigest:'null', imageTag:'" + tag + "'} does not exist within the repository with name '${REPOSITORY}' in the registry with id '${ACCOUNT}'");
    console.log(image.tags.join("\t"));
  } else if (is("cloudformation", "describe-stacks")) {
    console.log("CREATE_COMPLETE");
  } else {
    console.error("stub: unexpected aws call: " + args.join(" "));
    process.exit(99);
  }
} else {
  if (args[0] === "login") {
    if (state.dockerLoginFails) { console.error("Error response from daemon: login attempt to https://" + args.at(-1) + "/v2/ failed with status: 401 Unauthorized"); process.exit(1); }
    if (call.stdin.trim() === "") { console.error("Error: Cannot perform an interactive login from a non TTY device"); process.exit(1); }
    console.log("Login Succeeded");
  } else if (args[0] === "build") {
    const id = "sha256:" + Math.random().toString(16).slice(2).padEnd(16, "0");
    args.forEach((a, i) => { if (a === "-t") state.local[args[i + 1]] = id; });
    save();
  } else if (args[0] === "push") {
    const ref = args[1];
    const id = state.local[ref];
    if (!id) { console.error("An image does not exist locally with the tag: " + ref); process.exit(1); }
    const tag = ref.slice(ref.lastIndexOf(":") + 1);
    if (state.images.some((i) => i.tags.includes(tag))) { console.error("tag invalid: The image tag '" + tag + "' already exists in the '${REPOSITORY}' repository and cannot be overwritten because the repository is immutable."); process.exit(1); }
    const image = state.images.find((i) => i.id === id);
    if (image) image.tags.push(tag); else state.images.push({ id, tags: [tag] });
    save();
    console.log(tag + ": digest: " + id + " size: 1234");
  } else if (args[0] === "create") {
    console.log("container-1");
  } else if (args[0] === "cp") {
    // run-checks.sh copies the test stage's reports out.
    const to = args[2];
    mkdirSync(to, { recursive: true });
    for (const [f, c] of [["lint.exit", "0\n"], ["test.exit", "0\n"], ["junit.xml", "<testsuites/>\n"], ["lint.txt", ""]]) writeFileSync(join(to, f), c);
  } else if (args[0] === "rm") {
    console.log(args[1]);
  } else {
    console.error("stub: unexpected docker call: " + args.join(" "));
    process.exit(99);
  }
}
`;

export interface Stubs {
  /** A directory to put first on PATH. */
  readonly bin: string;
  readonly env: Record<string, string>;
  state(): StubState;
  setState(change: Partial<StubState>): void;
  calls(): Call[];
  clearCalls(): void;
}

export function makeStubs(initial: Partial<StubState> = {}): Stubs {
  const dir = mkdtempSync(join(tmpdir(), "lab-stubs-"));
  const bin = join(dir, "bin");
  mkdirSync(bin);
  writeFileSync(join(dir, "stub.mjs"), STUB);
  for (const tool of ["aws", "docker"]) {
    writeFileSync(join(bin, tool), `#!/bin/sh\nexec "${process.execPath}" "${join(dir, "stub.mjs")}" ${tool} "$@"\n`);
    chmodSync(join(bin, tool), 0o755);
  }
  const stateFile = join(dir, "state.json");
  writeFileSync(stateFile, JSON.stringify({ images: [], local: {}, ...initial }));
  writeFileSync(join(dir, "calls.jsonl"), "");
  return {
    bin,
    env: { LAB_STUB_DIR: dir, PATH: `${bin}:${process.env.PATH ?? ""}` },
    state: () => JSON.parse(readFileSync(stateFile, "utf8")) as StubState,
    setState: (change) =>
      writeFileSync(
        stateFile,
        JSON.stringify({ ...(JSON.parse(readFileSync(stateFile, "utf8")) as object), ...change }),
      ),
    calls: () =>
      readFileSync(join(dir, "calls.jsonl"), "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Call),
    clearCalls: () => writeFileSync(join(dir, "calls.jsonl"), ""),
  };
}

interface Buildspec {
  env?: { variables?: Record<string, string> };
  phases: Record<string, { commands: string[] }>;
}

export interface BuildRun {
  readonly status: number | null;
  readonly out: string;
  /** The phase that failed, if one did. */
  readonly failedPhase?: string;
}

/**
 * Runs a buildspec's phases as CodeBuild does (version 0.2: one shell for
 * the whole build; a failing command ends the build here, since these
 * buildspecs have no post_build), in `dir`, with the buildspec's variables
 * under `env` (the project's and the overrides).
 */
export function runBuildspec(file: string, dir: string, env: Record<string, string>): BuildRun {
  const spec = parse(readFileSync(join(CODE, file), "utf8")) as Buildspec;
  const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  const lines = ["cd " + quote(dir)];
  for (const phase of ["install", "pre_build", "build", "post_build"]) {
    for (const command of spec.phases[phase]?.commands ?? []) {
      lines.push(`eval ${quote(command)}`, `s=$?; [ "$s" = 0 ] || { echo "FAILED ${phase}" >&2; exit "$s"; }`);
    }
  }
  const r = spawnSync("sh", ["-c", lines.join("\n")], {
    encoding: "utf8",
    env: {
      HOME: dir,
      GIT_CEILING_DIRECTORIES: tmpdir(),
      ...(spec.env?.variables ?? {}),
      ...env,
    },
  });
  const out = `${r.stdout}${r.stderr}`;
  const failedPhase = /FAILED (\w+)/.exec(r.stderr)?.[1];
  return { status: r.status, out, ...(failedPhase ? { failedPhase } : {}) };
}
