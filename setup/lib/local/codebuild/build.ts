// The local stand-in for a CodeBuild build: the project's buildspec, run
// unchanged in a container of the build image (awscli, Docker CLI, git on the
// Node base), with CodeBuild's environment variables and phase rules
// (phases.ts). This runner starts the build container, copies the source in,
// opens one shell session for every command, hands it to the phase rules,
// copies the source directory out for UPLOAD_ARTIFACTS and removes the
// container. The Docker engine is the host's, through its socket, in place of
// privileged mode; the container reaches the emulator and the registry on 127.0.0.1.
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type Dockerode from "dockerode";
import { PrerequisiteError } from "../../errors.ts";
import { copyIn, copyOut } from "../engine/archive.ts";
import { connectDocker, removeContainers } from "../engine/client.ts";
import { rehearsalLabels } from "../engine/rehearsal.ts";
import { openShellSession, type ShellSession } from "../engine/session.ts";
import { buildLog } from "./log.ts";
import { BUILD_UID, SOURCE_DIR, STATE_DIR } from "./paths.ts";
import {
  type BuildResult,
  type BuildShell,
  buildEnvironment,
  readBuildspec,
  runPhases,
  SUCCEEDING_VARIABLE,
} from "./phases.ts";

export type { BuildResult, BuildStatus, PhaseResult } from "./phases.ts";

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

/** The build container's session as the phase rules' shell; the state directory starts at the source directory. */
async function buildShell(
  container: Dockerode.Container,
  shell: string,
  output: (text: string) => void,
  work: string,
): Promise<{ shell: BuildShell; session: ShellSession }> {
  const session = await openShellSession(container, {
    shell,
    scriptPath: `${STATE_DIR}/command`,
    flagVariable: SUCCEEDING_VARIABLE,
    prelude: `mkdir -p ${STATE_DIR} && echo ${SOURCE_DIR} > ${STATE_DIR}/dir || exit 1`,
    output,
  });
  return {
    session,
    shell: {
      run: (script, succeeding, onOutput) => session.run(script, succeeding ? "1" : "0", onOutput),
      stop: () => void container.kill().catch(() => undefined),
      collectSource: async () => {
        await copyOut(container, SOURCE_DIR, work);
        return work;
      },
    },
  };
}

/** Runs the build to its end; a failed build is a result, not an exception. */
export async function runBuild(input: BuildInput): Promise<BuildResult> {
  const log = buildLog(input.onLine);
  const read = readBuildspec(input.source, input.buildspecFile, log);
  if ("failed" in read) return read.failed;
  const { spec } = read;

  const socket = await dockerSocket();
  const docker = (await connectDocker()).container.dockerode;
  const container = await startBuildContainer(docker, {
    Image: input.image,
    Env: Object.entries(buildEnvironment(spec, input.environment)).map(([k, v]) => `${k}=${v}`),
    Labels: rehearsalLabels(input.prefix, "build"),
    HostConfig: {
      // 127.0.0.1 is the host's: the emulator and the registry are published there.
      NetworkMode: "host",
      Binds: [`${socket.path}:/var/run/docker.sock`],
      GroupAdd: [String(socket.gid)],
    },
  });
  const startedAt = performance.now();
  const removeContainer = () => removeContainers([container.id]).catch(() => undefined);
  const onAbort = () => void removeContainer();
  input.signal?.addEventListener("abort", onAbort, { once: true });
  const work = await mkdtemp(join(tmpdir(), "aws-cicd-lab-build-out-"));
  let session: ShellSession | undefined;
  try {
    await copyIn(container, input.source, SOURCE_DIR, BUILD_UID);
    const opened = await buildShell(container, spec.shell, log.output, work);
    session = opened.session;
    return await runPhases({
      spec,
      shell: opened.shell,
      log,
      timeoutMinutes: input.timeoutMinutes,
      startedAt,
      downloadSeconds: (performance.now() - startedAt) / 1000,
      ...(input.signal ? { signal: input.signal } : {}),
    });
  } catch (error) {
    if (input.signal?.aborted) throw input.signal.reason;
    throw error;
  } finally {
    session?.close();
    input.signal?.removeEventListener("abort", onAbort);
    await removeContainer();
    await rm(work, { recursive: true, force: true });
  }
}
