// `npm run images`: makes sure the emulator, Node base and stand-in images exist, says
// what it did and how long it took, and records the chosen names for .ci/env.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { IMAGE_VARIABLES, type Images, readImages } from "./lib/config.ts";
import { EXIT, LabError } from "./lib/errors.ts";
import { buildImageRecipe } from "./lib/local/codebuild/image.ts";
import { registryRecipe } from "./lib/local/ecr/image.ts";
import { proxyRecipe } from "./lib/local/elbv2/image.ts";
import { motoRecipe } from "./lib/local/emulator/image.ts";
import { ensureImages, type ImageRole, writeImagesEnv } from "./lib/local/images/index.ts";
import { nodeBaseRecipe } from "./lib/local/images/node.ts";
import type { ImageRecipe } from "./lib/local/images/recipe.ts";

/** Each image's recipe, from the folder of what it stands in for. */
const RECIPES: Readonly<Record<ImageRole, ImageRecipe>> = {
  moto: motoRecipe,
  node: nodeBaseRecipe,
  build: buildImageRecipe,
  registry: registryRecipe,
  proxy: proxyRecipe,
};

export async function images(root: string, env: NodeJS.ProcessEnv): Promise<number> {
  const started = performance.now();
  const log = (line: string) => process.stderr.write(`[images] ${line}\n`);
  const cache = join(root, ".cache");
  try {
    await mkdir(cache, { recursive: true });
    const outcomes = await ensureImages({
      recipes: RECIPES,
      images: readImages(env, {}),
      explicit: Object.fromEntries(
        Object.entries(IMAGE_VARIABLES).map(([role, variable]) => [role, Boolean(env[variable]?.trim())]),
      ) as Record<keyof Images, boolean>,
      workDir: join(cache, "images"),
      log,
    });
    for (const o of Object.values(outcomes)) {
      log(
        `${o.role.padEnd(8)} ${o.image.padEnd(36)} ${o.action.padEnd(7)} ${o.seconds.toFixed(1).padStart(6)} s  ${o.detail}`,
      );
    }
    await writeImagesEnv(join(cache, "images.env"), outcomes);
    log(
      `done in ${((performance.now() - started) / 1000).toFixed(1)} s; names recorded in .cache/images.env (used by \`source .ci/env\`)`,
    );
    return EXIT.ok;
  } catch (error) {
    if (error instanceof LabError) {
      log(`error: ${error.message}`);
      log(`what to do: ${error.hint}`);
      return error.exitCode;
    }
    throw error;
  }
}
