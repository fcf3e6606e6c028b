// Files into and out of a container, as tar archives through the engine's
// archive API: works on a running or a stopped container.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type Dockerode from "dockerode";
import tar from "tar-fs";

/**
 * Writes `files` (relative path → content) into the container's directory
 * `into`, owned by `owner` (uid and gid).
 */
export async function copyIn(
  container: Dockerode.Container,
  files: ReadonlyMap<string, Uint8Array>,
  into: string,
  owner: number,
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "aws-cicd-lab-copy-in-"));
  try {
    for (const [path, content] of files) {
      await mkdir(join(dir, posix.dirname(path)), { recursive: true });
      await writeFile(join(dir, path), content);
    }
    const pack = tar.pack(dir, {
      map: (header) => ({ ...header, uid: owner, gid: owner }),
    }) as unknown as Readable;
    await container.putArchive(pack, { path: into });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Copies what is in the container's directory `from` into the local directory `to`. */
export async function copyOut(container: Dockerode.Container, from: string, to: string): Promise<void> {
  const archive = (await container.getArchive({ path: `${from}/.` })) as unknown as Readable;
  await pipeline(archive, tar.extract(to, { strip: 1 }));
}
