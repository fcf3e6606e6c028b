// The local stand-in for a CodeBuild build: the project's buildspec, run
// unchanged in a container of the build image (awscli, Docker CLI, git on the
// Node base), with CodeBuild's environment variables and phase rules:
//   - version 0.2: one shell state through the whole build (variables and the
//     working directory carry from command to command and phase to phase);
//   - a failing command ends its phase; the phase's `finally` commands still run;
//   - INSTALL or PRE_BUILD failing ends the build; BUILD failing still runs
//     POST_BUILD (with CODEBUILD_BUILD_SUCCEEDING=0); UPLOAD_ARTIFACTS is
//     attempted after BUILD and POST_BUILD whatever they did;
//   - reports and artifacts whose files match nothing fail UPLOAD_ARTIFACTS.
// The Docker engine is the host's, through its socket, in place of privileged
// mode; the container reaches the emulator and the registry on 127.0.0.1.
import { glob, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { randomUUID } from "node:crypto";
import { basename, join, posix } from "node:path";
import { PassThrough, type Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { pipeline } from "node:stream/promises";
import type Dockerode from "dockerode";
import { zipSync } from "fflate";
import tar from "tar-fs";
import { PrerequisiteError, StepError } from "../../errors.ts";
import { type Buildspec, type FileSet, PHASES, parseBuildspec } from "./buildspec.ts";
import { connectDocker, removeContainers } from "../engine/client.ts";
import { type JunitSummary, summariseJunit } from "./junit.ts";
import { BUILD_UID, SOURCE_DIR, STATE_DIR } from "./paths.ts";
import { rehearsalLabels } from "../engine/rehearsal.ts";

export interface BuildInput {
  readonly prefix: string;
  readonly image: string;
  readonly projectName: string;
  /** The project's buildspec file name (Source.BuildSpec), read from the primary source. */
  readonly buildspecFile: string;
  readonly timeoutMinutes: number;
  /** The primary source, unpacked: path → content. */
  readonly source: ReadonlyMap<string, Uint8Array>;
  /** Environment, lowest precedence first: CodeBuild's own, the project's, start-build overrides. */
  readonly environment: ReadonlyArray<Readonly<Record<string, string>>>;
  readonly onLine?: (line: string) => void;
  readonly signal?: AbortSignal;
}

export type BuildStatus = "SUCCEEDED" | "FAILED" | "TIMED_OUT" | "STOPPED";

export interface PhaseResult {
  readonly name: string;
  readonly status: "SUCCEEDED" | "FAILED" | "SKIPPED";
  readonly seconds: number;
}

export interface BuildResult {
  readonly status: BuildStatus;
  readonly phases: readonly PhaseResult[];
  /** CodeBuild's summary of a failure, e.g. "Phase: BUILD, Code: COMMAND_EXECUTION_ERROR, Message: …". */
  readonly failure?: string;
  readonly log: readonly string[];
  readonly exportedVariables: Readonly<Record<string, string>>;
  readonly reports: ReadonlyArray<{ readonly name: string; readonly summary: JunitSummary }>;
  /** The artifacts section, zipped as CodePipeline stores an output artifact. */
  readonly artifact?: Uint8Array;
}

const timestamp = () => new Date().toISOString().replace("T", " ").slice(0, 19);

/** The Docker socket the host engine listens on, to hand to the build container. */
async function dockerSocket(): Promise<{ path: string; gid: number }> {
  const host = process.env.DOCKER_HOST ?? "unix:///var/run/docker.sock";
  if (!host.startsWith("unix://")) {
    throw new PrerequisiteError(
      `The build stand-in needs the Docker engine's socket, and DOCKER_HOST is ${host}.`,
      "Run the rehearsal with a local Docker engine (unix socket).",
    );
  }
  const path = host.slice("unix://".length);
  return { path, gid: (await stat(path)).gid };
}

/** A shell session in the build container that runs the build's commands one after another. */
interface BuildShell {
  /**
   * Runs one script with the buildspec's shell; resolves with its exit code. Its output, stderr
   * merged, goes to `onOutput`, else to the build log.
   */
  run(script: string, succeeding: boolean, onOutput?: (text: string) => void): Promise<number>;
  /** Ends the session. */
  close(): void;
}

/**
 * Starts the session: one `docker exec` for the whole build, as CodeBuild's
 * agent runs every command in one container session, instead of one exec
 * (about 0.1 s) per command. Each request is a line "<succeeding> <script in
 * base64>"; after the script, the session prints a line with a per-build
 * marker and the exit code. The session also makes the state directory.
 */
async function startBuildShell(
  container: Dockerode.Container,
  shell: string,
  log: (text: string) => void,
): Promise<BuildShell> {
  const docker = (await connectDocker()).container.dockerode;
  const marker = `__lab_command_done_${randomUUID().replaceAll("-", "")}`;
  const loop = [
    `mkdir -p ${STATE_DIR} && echo ${SOURCE_DIR} > ${STATE_DIR}/dir || exit 1`,
    `while IFS=' ' read -r succeeding encoded; do`,
    `  printf '%s' "$encoded" | base64 -d > ${STATE_DIR}/command`,
    `  LAB_BUILD_SUCCEEDING="$succeeding" ${shell} ${STATE_DIR}/command < /dev/null 2>&1`,
    `  printf '\\n${marker} %s\\n' "$?"`,
    `done`,
  ].join("\n");
  const exec = await container.exec({
    Cmd: ["sh", "-c", loop],
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
  });
  const stream = await exec.start({ hijack: true, stdin: true });
  const out = new PassThrough();
  docker.modem.demuxStream(stream, out, out);
  const decoder = new StringDecoder("utf8");
  const done = new RegExp(`\\n${marker} (\\d+)\\n`);
  let pending = "";
  let onOutput = log;
  let waiting: ((code: number) => void) | undefined;
  const finish = (code: number) => {
    const resolve = waiting;
    waiting = undefined;
    resolve?.(code);
  };
  out.on("data", (chunk: Buffer) => {
    pending += decoder.write(chunk);
    const end = done.exec(pending);
    if (end) {
      onOutput(pending.slice(0, end.index));
      pending = pending.slice(end.index + end[0].length);
      finish(Number(end[1]));
      return;
    }
    // Pass output on as it comes, keeping back what could be the start of the marker line.
    const keep = Math.min(pending.length, marker.length + 16);
    onOutput(pending.slice(0, pending.length - keep));
    pending = pending.slice(pending.length - keep);
  });
  // The container stopped (a timeout, an interruption): the command in flight failed.
  const ended = () => {
    onOutput(pending);
    pending = "";
    finish(137);
  };
  stream.on("end", ended);
  stream.on("error", ended);
  return {
    run(script, succeeding, listener = log) {
      return new Promise<number>((resolve) => {
        if (stream.destroyed || !stream.writable) return resolve(137);
        onOutput = listener;
        waiting = resolve;
        stream.write(`${succeeding ? 1 : 0} ${Buffer.from(script, "utf8").toString("base64")}\n`);
      });
    },
    close() {
      stream.end();
    },
  };
}

/**
 * One buildspec command in the build's shell state: restore the variables
 * and directory the previous command left, run it in this same shell (so
 * its assignments and `cd` persist), save them again. `set -a` keeps plain
 * assignments (IMAGE_TAG=…) for later commands, as CodeBuild does.
 */
function commandScript(command: string): string {
  const quoted = `'${command.replaceAll("'", `'\\''`)}'`;
  return [
    `__lab_succeeding="$LAB_BUILD_SUCCEEDING"`,
    `set -a`,
    `[ -f ${STATE_DIR}/env ] && . ${STATE_DIR}/env`,
    `cd "$(cat ${STATE_DIR}/dir)"`,
    `CODEBUILD_BUILD_SUCCEEDING="$__lab_succeeding"`,
    `eval ${quoted}`,
    `__lab_exit=$?`,
    `export -p | grep -v -e '^export __lab_' -e '^export LAB_BUILD_SUCCEEDING=' > ${STATE_DIR}/env`,
    `pwd > ${STATE_DIR}/dir`,
    `exit $__lab_exit`,
  ].join("\n");
}

/** The files of a report or the artifacts section, relative to the source directory. */
async function matchFiles(root: string, set: FileSet): Promise<Array<{ path: string; name: string }>> {
  const base = posix.normalize(set.baseDirectory);
  const found = new Map<string, string>();
  for (const pattern of set.files) {
    for await (const match of glob(pattern, { cwd: join(root, base) })) {
      const full = join(root, base, match);
      if (!(await stat(full)).isFile()) continue;
      found.set(full, set.discardPaths ? basename(match) : match);
    }
  }
  return [...found].map(([path, name]) => ({ path, name }));
}

async function zipFiles(files: ReadonlyArray<{ path: string; name: string }>): Promise<Uint8Array> {
  const entries: Record<string, Uint8Array> = {};
  for (const f of files) entries[f.name] = await readFile(f.path);
  return zipSync(entries, { level: 6 });
}

async function copyIn(container: Dockerode.Container, files: ReadonlyMap<string, Uint8Array>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "aws-cicd-lab-build-in-"));
  try {
    for (const [path, content] of files) {
      await mkdir(join(dir, posix.dirname(path)), { recursive: true });
      await writeFile(join(dir, path), content);
    }
    const pack = tar.pack(dir, {
      map: (header) => ({ ...header, uid: BUILD_UID, gid: BUILD_UID }),
    }) as unknown as Readable;
    await container.putArchive(pack, { path: SOURCE_DIR });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function copyOut(container: Dockerode.Container, dir: string): Promise<void> {
  const archive = (await container.getArchive({ path: `${SOURCE_DIR}/.` })) as unknown as Readable;
  await pipeline(archive, tar.extract(dir, { strip: 1 }));
}

/** Creates and starts the build container; one that cannot start is a set-up problem, said in one sentence. */
async function startBuildContainer(
  docker: Dockerode,
  options: Dockerode.ContainerCreateOptions,
): Promise<Dockerode.Container> {
  let container: Dockerode.Container | undefined;
  try {
    container = await docker.createContainer(options);
    await container.start();
    return container;
  } catch (error) {
    if (container) await removeContainers([container.id]).catch(() => undefined);
    throw new PrerequisiteError(
      `The build container (${options.Image ?? "?"}) did not start: ${(error as Error).message.split("\n")[0]}`,
      "Run `npm run images` (it builds the build image), then the same command again.",
      error,
    );
  }
}

/** Runs the build to its end; a failed build is a result, not an exception. */
export async function runBuild(input: BuildInput): Promise<BuildResult> {
  const log: string[] = [];
  let partial = "";
  const emit = (line: string) => {
    log.push(line);
    input.onLine?.(line);
  };
  const output = (text: string) => {
    const lines = (partial + text).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) emit(line);
  };
  const flush = () => {
    if (partial !== "") emit(partial);
    partial = "";
  };
  const container_ = (message: string) => emit(`[Container] ${timestamp()} ${message}`);

  // A buildspec CodeBuild cannot read fails the build in DOWNLOAD_SOURCE with YAML_FILE_ERROR.
  const yamlError = (message: string): BuildResult => {
    container_(`Phase context status code: YAML_FILE_ERROR Message: ${message}`);
    return {
      status: "FAILED",
      phases: [{ name: "DOWNLOAD_SOURCE", status: "FAILED", seconds: 0 }],
      failure: `Phase: DOWNLOAD_SOURCE, Code: YAML_FILE_ERROR, Message: ${message}`,
      log,
      exportedVariables: {},
      reports: [],
    };
  };
  const buildspecBytes = input.source.get(input.buildspecFile);
  if (!buildspecBytes) return yamlError(`${input.buildspecFile} is not in the source`);
  let spec: Buildspec;
  try {
    spec = parseBuildspec(new TextDecoder().decode(buildspecBytes), input.buildspecFile);
  } catch (error) {
    if (error instanceof StepError) return yamlError(error.message);
    throw error;
  }

  const socket = await dockerSocket();
  const docker = (await connectDocker()).container.dockerode;
  // Lowest precedence first: the buildspec's own variables, then CodeBuild's, the project's and the overrides.
  const env: Record<string, string> = {};
  for (const layer of [spec.variables, ...input.environment]) Object.assign(env, layer);
  const container = await startBuildContainer(docker, {
    Image: input.image,
    Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    Labels: rehearsalLabels(input.prefix, "build"),
    HostConfig: {
      // 127.0.0.1 is the host's: the emulator and the registry are published there.
      NetworkMode: "host",
      Binds: [`${socket.path}:/var/run/docker.sock`],
      GroupAdd: [String(socket.gid)],
    },
  });
  const removeContainer = () => removeContainers([container.id]).catch(() => undefined);
  const onAbort = () => void removeContainer();
  input.signal?.addEventListener("abort", onAbort, { once: true });
  const phases: PhaseResult[] = [];
  let failure: string | undefined;
  let timedOut = false;
  // The project's TimeoutInMinutes: the build is stopped where it stands, as CodeBuild stops it.
  const deadline = setTimeout(() => {
    timedOut = true;
    void container.kill().catch(() => undefined);
  }, input.timeoutMinutes * 60_000);
  const work = await mkdtemp(join(tmpdir(), "aws-cicd-lab-build-out-"));
  let shell: BuildShell | undefined;
  try {
    const downloadStart = performance.now();
    await copyIn(container, input.source);
    const session = await startBuildShell(container, spec.shell, output);
    shell = session;
    phases.push({ name: "DOWNLOAD_SOURCE", status: "SUCCEEDED", seconds: (performance.now() - downloadStart) / 1000 });

    let succeeding = true;
    let stopBuild = false;
    for (const name of PHASES) {
      const phase = spec.phases[name];
      const label = name.toUpperCase();
      // After INSTALL or PRE_BUILD failed, nothing else runs; after BUILD failed, POST_BUILD still does.
      if (stopBuild || timedOut || !phase) {
        if (phase) phases.push({ name: label, status: "SKIPPED", seconds: 0 });
        continue;
      }
      input.signal?.throwIfAborted();
      const started = performance.now();
      container_(`Entering phase ${label}`);
      let phaseFailed = false;
      const runAll = async (commands: readonly string[]) => {
        for (const command of commands) {
          container_(`Running command ${command}`);
          const code = await session.run(commandScript(command), succeeding);
          flush();
          if (timedOut) {
            failure = `Phase: ${label}, Code: BUILD_TIMED_OUT, Message: Build has timed out after ${input.timeoutMinutes} minutes`;
            return false;
          }
          if (code !== 0) {
            container_(`Command did not exit successfully ${command} exit status ${code}`);
            failure ??= `Phase: ${label}, Code: COMMAND_EXECUTION_ERROR, Message: Error while executing command: ${command}. Reason: exit status ${code}`;
            return false;
          }
        }
        return true;
      };
      if (!(await runAll(phase.commands))) phaseFailed = true;
      if (phase.finally.length > 0 && !(await runAll(phase.finally))) phaseFailed = true;
      const seconds = (performance.now() - started) / 1000;
      container_(`Phase complete: ${label} State: ${phaseFailed ? "FAILED" : "SUCCEEDED"}`);
      phases.push({ name: label, status: phaseFailed ? "FAILED" : "SUCCEEDED", seconds });
      if (!phaseFailed) continue;
      succeeding = false;
      if (phase.onFailure === "CONTINUE") continue;
      if (name === "install" || name === "pre_build") stopBuild = true;
    }

    const reports: Array<{ name: string; summary: JunitSummary }> = [];
    let artifact: Uint8Array | undefined;
    const exportedVariables: Record<string, string> = {};
    // UPLOAD_ARTIFACTS follows BUILD and POST_BUILD whatever they did; not a build that ended earlier.
    if (!stopBuild && !timedOut) {
      const started = performance.now();
      container_("Entering phase UPLOAD_ARTIFACTS");
      await copyOut(container, work);
      const uploadErrors: string[] = [];
      for (const [name, report] of Object.entries(spec.reports)) {
        const files = await matchFiles(work, report);
        container_(`Preparing to copy test report files for ${name}: ${files.length} file(s)`);
        if (files.length === 0) {
          uploadErrors.push(`[${name}: [report files not found in build]]`);
          continue;
        }
        const summary = await summariseJunit(files.map((f) => f.path));
        reports.push({ name, summary });
        container_(`Report ${name}: ${summary.line}`);
      }
      if (spec.artifacts) {
        const files = await matchFiles(work, spec.artifacts);
        if (files.length === 0) uploadErrors.push("no matching artifact paths found");
        else {
          artifact = await zipFiles(files);
          container_(`Uploading artifacts: ${files.map((f) => f.name).join(", ")}`);
        }
      }
      const failed = uploadErrors.length > 0;
      if (failed) {
        failure ??= `Phase: UPLOAD_ARTIFACTS, Code: CLIENT_ERROR, Message: ${uploadErrors.join(" ")}`;
        container_(`Phase context status code: CLIENT_ERROR Message: ${uploadErrors.join(" ")}`);
        succeeding = false;
      }
      phases.push({
        name: "UPLOAD_ARTIFACTS",
        status: failed ? "FAILED" : "SUCCEEDED",
        seconds: (performance.now() - started) / 1000,
      });
    }
    if (succeeding && spec.exportedVariables.length > 0) {
      let json = "";
      const names = JSON.stringify(spec.exportedVariables);
      await session.run(
        `set -a; . ${STATE_DIR}/env; node -e 'process.stdout.write(JSON.stringify(Object.fromEntries(${names}.map((n) => [n, process.env[n] ?? ""]))))'`,
        true,
        (t) => (json += t),
      );
      Object.assign(exportedVariables, JSON.parse(json) as Record<string, string>);
    }
    const status: BuildStatus = timedOut ? "TIMED_OUT" : succeeding ? "SUCCEEDED" : "FAILED";
    container_(`Build ${status.toLowerCase()}`);
    return {
      status,
      phases,
      ...(failure && status !== "SUCCEEDED" ? { failure } : {}),
      log,
      exportedVariables,
      reports,
      ...(artifact && status === "SUCCEEDED" ? { artifact } : {}),
    };
  } catch (error) {
    if (input.signal?.aborted) throw input.signal.reason;
    throw error;
  } finally {
    clearTimeout(deadline);
    shell?.close();
    input.signal?.removeEventListener("abort", onAbort);
    await removeContainer();
    await rm(work, { recursive: true, force: true });
  }
}
