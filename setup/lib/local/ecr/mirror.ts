// ECR's data plane in the rehearsal: the emulator's ECR keeps repositories and
// image records but has no registry, so images live in the local registry
// (registry.ts) and the two are kept holding the same images.
import { BatchDeleteImageCommand, type ECRClient, paginateDescribeImages, PutImageCommand } from "@aws-sdk/client-ecr";
import { deleteRegistryImages, registryManifest, registryTags } from "./registry.ts";

async function ecrTags(ecr: ECRClient, repositoryName: string): Promise<Set<string>> {
  const tags = new Set<string>();
  for await (const page of paginateDescribeImages({ client: ecr }, { repositoryName })) {
    for (const image of page.imageDetails ?? []) for (const tag of image.imageTags ?? []) tags.add(tag);
  }
  return tags;
}

/**
 * Before a build: the registry and the emulator's ECR must hold the same
 * images, as ECR's API and registry are one service on AWS. The registry's
 * store outlives an emulator (a rehearsal that was not torn down, a new
 * emulator), so its images ECR does not list are deleted; an image ECR lists
 * whose layers the registry lost is deleted from ECR, so the build pushes it
 * again instead of deploying an image no task could pull. Returns what it dropped.
 */
export async function reconcileRegistryWithEcr(
  ecr: ECRClient,
  registry: string,
  repositoryName: string,
): Promise<string[]> {
  const inEcr = await ecrTags(ecr, repositoryName);
  const inRegistry = new Set(await registryTags(registry, repositoryName));
  const dropped: string[] = [];
  const stale = [...inRegistry].filter((tag) => !inEcr.has(tag));
  if (stale.length > 0) {
    await deleteRegistryImages(registry, repositoryName, stale);
    dropped.push(...stale.map((tag) => `registry ${repositoryName}:${tag}`));
  }
  const lost = [...inEcr].filter((tag) => !inRegistry.has(tag));
  if (lost.length > 0) {
    await ecr.send(new BatchDeleteImageCommand({ repositoryName, imageIds: lost.map((imageTag) => ({ imageTag })) }));
    dropped.push(...lost.map((tag) => `ECR ${repositoryName}:${tag}`));
  }
  return dropped;
}

/**
 * ECR's data plane: the emulator's ECR keeps repositories and image records
 * but has no registry to push to, so the build pushes to the local registry
 * (registry.ts) and this copies each pushed tag's manifest into the
 * emulator's repository (PutImage), where DescribeImages, the build's
 * "already pushed" check, the lesson checks and teardown see it, as they
 * would see a push to ECR. Returns the tags it added.
 */
export async function mirrorRegistryToEcr(ecr: ECRClient, registry: string, repositoryName: string): Promise<string[]> {
  const known = await ecrTags(ecr, repositoryName);
  const added: string[] = [];
  for (const tag of await registryTags(registry, repositoryName)) {
    if (known.has(tag)) continue;
    const { manifest, mediaType } = await registryManifest(registry, repositoryName, tag);
    await ecr.send(
      new PutImageCommand({
        repositoryName,
        imageTag: tag,
        imageManifest: manifest,
        ...(mediaType ? { imageManifestMediaType: mediaType } : {}),
      }),
    );
    added.push(tag);
  }
  return added;
}
