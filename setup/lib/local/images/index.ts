// `npm run images`: makes sure the images the project needs exist on this
// machine - the AWS emulator and the Node 24 base (the official images when
// present or pullable; when no registry answers, equivalents built from
// Debian packages and the npm registry), and the stand-ins the rehearsal runs
// where the emulator has nothing, Debian packages on the Node base. Each
// image's recipe lives in the folder of what it stands in for (setup/images.ts
// collects them); this module decides, for each, whether it is here, pulled or
// built.
import { mkdir, writeFile } from "node:fs/promises";
import { IMAGE_VARIABLES as ENV_VARIABLE, type Images, LOCAL_IMAGES, OFFICIAL_IMAGES } from "../../config.ts";
import { LabError, PrerequisiteError, StepError } from "../../errors.ts";
import { RECIPE_LABEL } from "../engine/labels.ts";
import { run } from "./process.ts";
import type { ImageRecipe } from "./recipe.ts";

export type ImageRole = keyof Images;

export interface ImageOutcome {
  readonly role: ImageRole;
  readonly image: string;
  readonly action: "present" | "pulled" | "built";
  readonly seconds: number;
  readonly detail: string;
}

export interface EnsureOptions {
  /** Each image's recipe (setup/images.ts collects them from the folders of what they stand in for). */
  readonly recipes: Readonly<Record<ImageRole, ImageRecipe>>;
  /** Image names as configured (LAB_*_IMAGE, else the official ones). */
  readonly images: Images;
  /** Which of them the user named explicitly; those are never swapped for another name. */
  readonly explicit: Readonly<Record<ImageRole, boolean>>;
  /** Scratch space for root filesystems and logs, e.g. <checkout>/.cache/images. */
  readonly workDir: string;
  readonly log: (line: string) => void;
}

// ---------------------------------------------------------------- docker queries

async function imagePresent(image: string): Promise<boolean> {
  return run("docker", ["image", "inspect", "--format", "{{.Id}}", image]).then(
    () => true,
    () => false,
  );
}

async function recipeOf(image: string): Promise<string | undefined> {
  const out = await run("docker", [
    "image",
    "inspect",
    "--format",
    `{{index .Config.Labels "${RECIPE_LABEL}"}}`,
    image,
  ]);
  return out.trim() || undefined;
}

/** Tries a pull; returns the registry's refusal as text instead of throwing. */
async function tryPull(image: string): Promise<{ ok: true } | { ok: false; reason: string }> {
  try {
    await run("docker", ["pull", "--quiet", image], { timeoutMs: 180_000 });
    return { ok: true };
  } catch (error) {
    const first = (error as Error).message.split("\n").find((l) => l.includes("Error")) ?? (error as Error).message;
    return { ok: false, reason: first.replace(/^.*Error response from daemon: /, "").slice(0, 160) };
  }
}

// ---------------------------------------------------------------- decisions

async function requireBuildTools(): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new PrerequisiteError(
      "Building the base images needs root (debootstrap and chroot), and no registry offered them.",
      "Run `sudo npm run images`, or pull or load the images yourself and name them with LAB_MOTO_IMAGE / LAB_NODE_IMAGE.",
    );
  }
  await run("debootstrap", ["--version"]).catch(() => {
    throw new PrerequisiteError(
      "debootstrap is needed to build the base images and is not installed.",
      "Install it (`apt-get install debootstrap`) or run `bash .ci/provision`.",
    );
  });
}

async function ensureOne(role: ImageRole, options: EnsureOptions, base = ""): Promise<ImageOutcome> {
  const started = performance.now();
  const seconds = () => Math.round((performance.now() - started) / 100) / 10;
  const wanted = options.images[role];
  const official = OFFICIAL_IMAGES[role];
  const local = LOCAL_IMAGES[role];
  const buildable = (image: string) => image === local;

  const done = (image: string, action: ImageOutcome["action"], detail: string): ImageOutcome => ({
    role,
    image,
    action,
    seconds: seconds(),
    detail,
  });

  if (await imagePresent(wanted)) {
    if (!buildable(wanted) || (await recipeOf(wanted)) === options.recipes[role].version)
      return done(wanted, "present", "already on this machine");
    options.log(`${role}: ${wanted} was built by an older recipe; rebuilding`);
  } else if (!buildable(wanted)) {
    const pulled = await tryPull(wanted);
    if (pulled.ok) return done(wanted, "pulled", "pulled from its registry");
    if (options.explicit[role]) {
      throw new PrerequisiteError(
        `${ENV_VARIABLE[role]} names ${wanted}, which is not on this machine and could not be pulled (${pulled.reason}).`,
        `Load that image, or unset ${ENV_VARIABLE[role]} to use ${official} or build ${local}.`,
      );
    }
    options.log(`${role}: ${wanted} is not here and could not be pulled (${pulled.reason})`);
    if (await imagePresent(local)) {
      if ((await recipeOf(local)) === options.recipes[role].version)
        return done(local, "present", "built earlier on this machine");
      options.log(`${role}: ${local} was built by an older recipe; rebuilding`);
    }
  }

  options.log(`${role}: building ${local}`);
  if (options.recipes[role].fromScratch) await requireBuildTools();
  await mkdir(options.workDir, { recursive: true });
  try {
    const what = await options.recipes[role].build(local, { workDir: options.workDir, log: options.log, base });
    return done(local, "built", `built: ${what}`);
  } catch (error) {
    if (error instanceof LabError) throw error;
    throw new StepError(
      `Building ${local} failed: ${(error as Error).message}`,
      `See the logs in ${options.workDir}.`,
      error,
    );
  }
}

/** Ensures every image: the emulator and the Node base in parallel, then the stand-ins built on that base. */
export async function ensureImages(options: EnsureOptions): Promise<Record<ImageRole, ImageOutcome>> {
  const motoReady = ensureOne("moto", options);
  const node = await ensureOne("node", options);
  const [moto, build, registry, proxy] = await Promise.all([
    motoReady,
    ensureOne("build", options, node.image),
    ensureOne("registry", options, node.image),
    ensureOne("proxy", options, node.image),
  ]);
  return { moto, node, build, registry, proxy };
}

/**
 * Shell lines that make later commands use the images chosen here. Written to
 * .cache/images.env and sourced by .ci/env; a value the user already exported wins.
 */
export function imagesEnvFile(outcomes: Record<ImageRole, ImageOutcome>): string {
  const lines = (Object.keys(outcomes) as ImageRole[]).map((role) => {
    const variable = ENV_VARIABLE[role];
    return `export ${variable}="\${${variable}:-${outcomes[role].image}}"`;
  });
  return `# Written by \`npm run images\`; sourced by .ci/env.\n${lines.join("\n")}\n`;
}

export async function writeImagesEnv(file: string, outcomes: Record<ImageRole, ImageOutcome>): Promise<void> {
  await writeFile(file, imagesEnvFile(outcomes));
}
