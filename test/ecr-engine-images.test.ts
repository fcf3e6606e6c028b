// Local teardown removes the Docker engine's copies of a run's app images
// (setup/lib/local/ecr/registry.ts removeEngineImages): every image carries its
// tag and its content tag, under any registry port, and all of them go without
// the engine refusing the second untag of an image it has just removed.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readImages } from "../setup/lib/config.ts";
import { buildImage } from "../setup/lib/local/engine/build.ts";
import { connectDocker } from "../setup/lib/local/engine/client.ts";
import { removeEngineImages } from "../setup/lib/local/ecr/registry.ts";

const REPOSITORY = "engine-images-test-app";
const docker = async () => (await connectDocker()).container.dockerode;

/** A fresh image (its own label), tagged as a push to the local registry and a pull from another port would tag it. */
async function appImage(version: string): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), "engine-images-"));
  const tags = [
    `127.0.0.1:5999/${REPOSITORY}:${version}`,
    `127.0.0.1:5999/${REPOSITORY}:${version}-src-0123456789ab`,
    `127.0.0.1:6001/${REPOSITORY}:${version}`,
  ];
  try {
    await writeFile(join(dir, "Dockerfile"), `ARG BASE\nFROM \${BASE}\nLABEL test.version=${version}-${Date.now()}\n`);
    const [first, ...more] = tags as [string, ...string[]];
    await buildImage(dir, { t: first, buildargs: { BASE: readImages(process.env).node } });
    for (const extra of more) {
      const at = extra.lastIndexOf(":");
      await (await docker()).getImage(first).tag({ repo: extra.slice(0, at), tag: extra.slice(at + 1) });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return tags;
}

const present = async () =>
  (await (await docker()).listImages()).flatMap((i) => i.RepoTags ?? []).filter((t) => t.includes(`/${REPOSITORY}:`));

afterAll(async () => {
  for (const tag of await present()) await (await docker()).getImage(tag).remove({ force: true });
}, 60_000);

describe("removing a run's app images from the engine", () => {
  it("removes every tag of every image, two images of three tags each, and leaves others alone", async () => {
    const tags = [...(await appImage("1")), ...(await appImage("2"))];
    const other = "127.0.0.1:5999/engine-images-test-other:1";
    const at = other.lastIndexOf(":");
    await (await docker()).getImage(tags[0] as string).tag({ repo: other.slice(0, at), tag: other.slice(at + 1) });

    const removed = await removeEngineImages(REPOSITORY);

    expect(removed.sort()).toEqual([...tags].sort());
    expect(await present()).toEqual([]);
    // The image that also carried another repository's tag stays, under that tag.
    expect((await (await docker()).listImages()).some((i) => i.RepoTags?.includes(other))).toBe(true);
    await (await docker()).getImage(other).remove();
  }, 120_000);
});
