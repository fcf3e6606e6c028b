// Access to the local Docker engine through testcontainers' client, with the
// checks that turn "no Docker" or "no image" into one clear sentence.
import { type ContainerRuntimeClient, getContainerRuntimeClient, ImageName } from "testcontainers";
import { PrerequisiteError } from "../../errors.ts";
import { RUN_LABEL } from "./labels.ts";

const DOCKER_MISSING_HINT =
  "Install Docker and start it (Debian: `apt-get install docker.io` then `dockerd &`; elsewhere Docker Desktop or Docker Engine), or run `bash .ci/provision` as root.";

/**
 * testcontainers reaches published ports through the bridge gateway when it
 * finds itself inside a container (/.dockerenv), as on CI machines and in the
 * demo image. The project publishes on 127.0.0.1 only (and the demo image runs
 * with --network host), so with a local engine the ports are on loopback.
 * The library reads only this variable; a value the user set wins.
 */
function pinPublishedPortsToLoopback(env: NodeJS.ProcessEnv): void {
  const dockerHost = env.DOCKER_HOST ?? "";
  if (dockerHost === "" || dockerHost.startsWith("unix://")) env.TESTCONTAINERS_HOST_OVERRIDE ??= "127.0.0.1";
}

export async function connectDocker(): Promise<ContainerRuntimeClient> {
  pinPublishedPortsToLoopback(process.env);
  try {
    return await getContainerRuntimeClient();
  } catch (error) {
    throw new PrerequisiteError("Docker is not available: no Docker engine answered.", DOCKER_MISSING_HINT, error);
  }
}

async function imageExists(client: ContainerRuntimeClient, image: string): Promise<boolean> {
  return client.image.exists(ImageName.fromString(image));
}

/**
 * Makes sure an image the project needs is here: pulls it when it is not, and
 * fails with a hint when no registry has it.
 */
export async function requireImage(client: ContainerRuntimeClient, image: string, variable: string): Promise<void> {
  if (await imageExists(client, image)) return;
  const pulled = await client.image.pull(ImageName.fromString(image)).then(
    () => true,
    () => false,
  );
  if (pulled && (await imageExists(client, image))) return;
  throw new PrerequisiteError(
    `The image ${image} is not on this machine and could not be pulled.`,
    `Run \`npm run images\` to pull or build it, then \`source .ci/env\` so ${variable} names it (or set ${variable} to an image you have).`,
  );
}

/**
 * testcontainers normally starts Ryuk, a sidecar that removes containers when
 * the test process dies. Its image must be pulled from a registry; where none
 * answers, Ryuk is turned off (the library reads only this variable) and the
 * project removes its containers itself (see removeLabelledContainers).
 * Returns whether Ryuk stays on.
 */
export async function useRyukIfAvailable(client: ContainerRuntimeClient, env: NodeJS.ProcessEnv): Promise<boolean> {
  if (env.TESTCONTAINERS_RYUK_DISABLED === "true") return false;
  const ryukImages = await client.container.dockerode.listImages({
    filters: { reference: [env.RYUK_CONTAINER_IMAGE ?? "testcontainers/ryuk"] },
  });
  if (ryukImages.length > 0) return true;
  env.TESTCONTAINERS_RYUK_DISABLED = "true";
  return false;
}

/** A run id names the process that owns the containers: `<kind>-<pid>-<start ms>`. */
export function newRunId(kind: string): string {
  return `${kind}-${process.pid}-${Date.now()}`;
}

function ownerAlive(runId: string): boolean {
  const pid = Number(runId.split("-").at(-2));
  if (!Number.isInteger(pid) || pid <= 0) return true; // not ours to judge: keep it
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes containers whose owning process is gone (a run that was killed
 * before it could clean up, which Ryuk would otherwise have handled).
 */
export async function removeOrphanedContainers(client: ContainerRuntimeClient): Promise<number> {
  const docker = client.container.dockerode;
  const found = await docker.listContainers({ all: true, filters: { label: [RUN_LABEL] } });
  const orphans = found.filter((info) => !ownerAlive(info.Labels[RUN_LABEL] ?? ""));
  await removeContainers(orphans.map((info) => info.Id));
  return orphans.length;
}

/** Force-removes every container carrying RUN_LABEL=runId; returns how many. */
export async function removeLabelledContainers(client: ContainerRuntimeClient, runId: string): Promise<number> {
  const docker = client.container.dockerode;
  const found = await docker.listContainers({ all: true, filters: { label: [`${RUN_LABEL}=${runId}`] } });
  await removeContainers(found.map((info) => info.Id));
  return found.length;
}

/** Force-removes containers (and their volumes); one already gone is not an error. */
export async function removeContainers(ids: readonly string[]): Promise<void> {
  const docker = (await connectDocker()).container.dockerode;
  await Promise.all(
    ids.map((id) =>
      docker
        .getContainer(id)
        .remove({ force: true, v: true })
        .catch((error: unknown) => {
          if ((error as { statusCode?: number }).statusCode !== 404) throw error;
        }),
    ),
  );
}

/**
 * A container's last log lines (stdout and stderr), none when it is gone.
 * Docker frames each chunk with an 8-byte header (stream, length) when the
 * container has no TTY.
 */
export async function containerLogs(id: string, lines: number): Promise<string[]> {
  const docker = (await connectDocker()).container.dockerode;
  try {
    return unframe(await docker.getContainer(id).logs({ stdout: true, stderr: true, tail: lines }));
  } catch {
    return [];
  }
}

/**
 * A container's log lines since a time (seconds since the epoch, fractions kept), each with the
 * engine's timestamp first ("2026-11-29T10:05:00.123456789Z …").
 */
export async function containerLogsSince(id: string, sinceSeconds: number): Promise<string[]> {
  const docker = (await connectDocker()).container.dockerode;
  const framed = await docker
    .getContainer(id)
    .logs({ stdout: true, stderr: true, timestamps: true, since: sinceSeconds.toFixed(9) as unknown as number });
  return unframe(framed);
}

/** The engine's multiplexed log stream (8-byte frame headers) as lines. */
function unframe(framed: Buffer): string[] {
  const out: string[] = [];
  for (let at = 0; at + 8 <= framed.length;) {
    const size = framed.readUInt32BE(at + 4);
    out.push(
      ...framed
        .subarray(at + 8, at + 8 + size)
        .toString("utf8")
        .split("\n"),
    );
    at += 8 + size;
  }
  return out.map((l) => l.trimEnd()).filter(Boolean);
}

/** Pulls an image into the engine (from the local registry, as a Fargate task pulls from ECR). */
export async function pullImage(image: string): Promise<void> {
  const docker = (await connectDocker()).container.dockerode;
  const stream = await docker.pull(image);
  await new Promise<void>((resolve, reject) =>
    docker.modem.followProgress(stream, (error: Error | null) => (error ? reject(error) : resolve())),
  );
}
