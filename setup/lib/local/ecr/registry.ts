// The local stand-in for ECR's data plane: a Distribution registry (Debian's
// docker-registry) on 127.0.0.1, one per rehearsal prefix, kept across runs
// like the emulator. The build's `docker login` / `docker push` go to it
// unchanged; what it holds reaches the emulator's ECR through the bridge in
// mirror.ts. Its layers live in one named volume shared by every
// rehearsal on the machine, a cache like the engine's build cache: a push of
// layers it already holds (the Node base) is instant. Teardown deletes the
// prefix's images from it; the layers stay until the volume is removed.
import { Wait } from "testcontainers";
import { PrerequisiteError } from "../../errors.ts";
import { startContainer } from "../engine/containers.ts";
import { connectDocker } from "../engine/client.ts";
import { rehearsalLabels, rehearsalRunId, reuseOrStart } from "../engine/rehearsal.ts";

/** The port Distribution listens on in its container (ecr/image.ts configures it). */
export const REGISTRY_PORT = 5000;

/** The registries' shared layer store. */
export const REGISTRY_VOLUME = "aws-cicd-lab-registry-layers";

export interface Registry {
  /** host:port, as a repository URI starts: 127.0.0.1:49153 */
  readonly address: string;
  readonly reused: boolean;
}

/** This prefix's registry: the running one if it answers, else a new one. */
export async function ensureRegistry(prefix: string, image: string): Promise<Registry> {
  const { url, reused } = await reuseOrStart(prefix, "registry", "/v2/", async () => {
    try {
      const started = await startContainer({
        image,
        port: REGISTRY_PORT,
        runId: rehearsalRunId(prefix),
        labels: rehearsalLabels(prefix, "registry"),
        volumes: [[REGISTRY_VOLUME, "/var/lib/docker-registry"]],
        // Distribution says so once its socket listens: no polling (an HTTP wait polls once a second).
        wait: Wait.forLogMessage("listening on"),
        startupTimeoutMs: 30_000,
      });
      return started.url;
    } catch (error) {
      throw new PrerequisiteError(
        `The registry standing in for ECR (${image}) did not start: ${(error as Error).message.split("\n")[0]}`,
        "Run `npm run images` to rebuild it, then the same command again.",
        error,
      );
    }
  });
  return { address: new URL(url).host, reused };
}

/** A registry's tags for one repository; none when the repository was never pushed. */
export async function registryTags(address: string, repository: string): Promise<string[]> {
  const response = await fetch(`http://${address}/v2/${repository}/tags/list`);
  if (response.status === 404) return [];
  if (!response.ok) throw new Error(`registry ${address}: tags of ${repository} answered ${response.status}`);
  return ((await response.json()) as { tags?: string[] | null }).tags ?? [];
}

const MANIFEST_TYPES = [
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
].join(", ");

/** An image manifest as the registry stores it, with its media type. */
export async function registryManifest(
  address: string,
  repository: string,
  tag: string,
): Promise<{ manifest: string; mediaType: string }> {
  const response = await fetch(`http://${address}/v2/${repository}/manifests/${tag}`, {
    headers: { Accept: MANIFEST_TYPES },
  });
  if (!response.ok) throw new Error(`registry ${address}: manifest ${repository}:${tag} answered ${response.status}`);
  return { manifest: await response.text(), mediaType: response.headers.get("content-type") ?? "" };
}

/**
 * Deletes images of one repository from the registry, all or `only` these
 * tags (their manifests; the layers stay in the shared store). Returns the tags.
 */
export async function deleteRegistryImages(
  address: string,
  repository: string,
  only?: readonly string[],
): Promise<string[]> {
  const tags = only ? [...only] : await registryTags(address, repository);
  for (const tag of tags) {
    const head = await fetch(`http://${address}/v2/${repository}/manifests/${tag}`, {
      method: "HEAD",
      headers: { Accept: MANIFEST_TYPES },
    });
    const digest = head.headers.get("docker-content-digest");
    if (!head.ok || !digest) continue; // deleted meanwhile, through another tag of the same image
    const deleted = await fetch(`http://${address}/v2/${repository}/manifests/${digest}`, { method: "DELETE" });
    if (!deleted.ok && deleted.status !== 404)
      throw new Error(`registry ${address}: deleting ${repository}:${tag} answered ${deleted.status}`);
  }
  return tags;
}

/**
 * Removes the Docker engine's own copies of one repository's images: the tags
 * the build container made (`docker build -t <registry>/<repository>:<tag>`)
 * and the tasks pulled, whatever port the registry had. Images a container
 * still uses stay. Returns the tags removed.
 */
export async function removeEngineImages(repository: string): Promise<string[]> {
  const docker = (await connectDocker()).container.dockerode;
  // 127.0.0.1:<port>/<repository>:<tag>
  const ours = (tag: string) =>
    tag.startsWith("127.0.0.1:") && tag.slice(tag.indexOf("/") + 1, tag.lastIndexOf(":")) === repository;
  const images = (await docker.listImages()).map((image) => (image.RepoTags ?? []).filter(ours));
  // An image's tags one after another (every image has its tag and its content tag): untagging two
  // tags of one image at once races in the engine, which then answers 500 for the image it just removed.
  const removed = await Promise.all(
    images.map(async (tags) => {
      const done: Array<string | undefined> = [];
      for (const tag of tags) {
        done.push(
          await docker
            .getImage(tag)
            .remove()
            .then(
              () => tag,
              (error: unknown) => {
                // Gone meanwhile, or in use by a container: not this teardown's to force.
                if ([404, 409].includes((error as { statusCode?: number }).statusCode ?? 0)) return undefined;
                throw error;
              },
            ),
        );
      }
      return done;
    }),
  );
  return removed.flat().filter((t): t is string => t !== undefined);
}

/** A repository no rehearsal owns, holding the last image pushed: where new repositories take their layers from. */
const LAYER_CACHE = "aws-cicd-lab/layer-cache";

/** The blobs (config and layers) an image manifest names. */
function blobsOf(manifest: string): string[] {
  const parsed = JSON.parse(manifest) as { config?: { digest?: string }; layers?: Array<{ digest?: string }> };
  return [parsed.config?.digest, ...(parsed.layers ?? []).map((l) => l.digest)].filter(
    (d): d is string => typeof d === "string",
  );
}

/**
 * Links blobs the store already holds into another repository (Distribution's
 * cross-repository mount). Returns the blobs that were not linked: a registry
 * that cannot mount one answers 202 and opens an upload instead, which is
 * cancelled here (nothing is uploaded by hand).
 */
async function mountBlobs(address: string, blobs: readonly string[], from: string, into: string): Promise<string[]> {
  const missing: string[] = [];
  for (const digest of blobs) {
    const answer = await fetch(`http://${address}/v2/${into}/blobs/uploads/?mount=${digest}&from=${from}`, {
      method: "POST",
    });
    await answer.body?.cancel();
    if (answer.status === 201) continue;
    missing.push(digest);
    const upload = answer.headers.get("location");
    if (answer.status === 202 && upload)
      await fetch(new URL(upload, `http://${address}`), { method: "DELETE" }).then((r) => r.body?.cancel());
  }
  return missing;
}

/**
 * Before a build pushes to `repository`: links into it the layers of the last
 * image any rehearsal pushed, so `docker push` finds them there ("Layer already
 * exists") instead of compressing and uploading the Node base again. The push
 * itself, and everything it checks, is unchanged; only the upload is saved.
 */
export async function primeRepository(address: string, repository: string): Promise<void> {
  const cached = await registryManifest(address, LAYER_CACHE, "latest").catch(() => undefined);
  if (cached) await mountBlobs(address, blobsOf(cached.manifest), LAYER_CACHE, repository);
}

/**
 * After a push: the image's layers become the cache new repositories are
 * primed from. The cache only saves uploads, so it is never a reason for a
 * release to fail: when the registry cannot link a layer into it (seen with
 * several registries over the one shared layer store, as parallel test files
 * run them), the cache keeps the layers it had and the reason is returned.
 */
export async function rememberLayers(address: string, repository: string, tag: string): Promise<string | undefined> {
  const { manifest, mediaType } = await registryManifest(address, repository, tag);
  const missing = await mountBlobs(address, blobsOf(manifest), repository, LAYER_CACHE);
  if (missing.length > 0)
    return `the registry could not link ${missing.length} layer(s) of ${repository}:${tag} into ${LAYER_CACHE}`;
  const put = await fetch(`http://${address}/v2/${LAYER_CACHE}/manifests/latest`, {
    method: "PUT",
    headers: { "Content-Type": mediaType },
    body: manifest,
  });
  const answer = (await put.text()).trim();
  if (!put.ok) return `the registry answered ${put.status} to the cache's manifest: ${answer.slice(0, 300)}`;
  return undefined;
}
