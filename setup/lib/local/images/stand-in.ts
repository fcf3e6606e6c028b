// A stand-in's image: Debian packages on the Node base, then a few
// Dockerfile lines, built with the host's network (apt reaches the Debian
// mirror the way the host does) and the host's CA bundle.
import { cp, mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { RECIPE_LABEL } from "../engine/labels.ts";
import { HOST_CA_BUNDLE } from "./debootstrap.ts";
import { run } from "./process.ts";
import type { ImageRecipe } from "./recipe.ts";

/** What a stand-in adds to the Node base: Debian packages, then Dockerfile lines, with files for them. */
export interface StandIn {
  /** Names its build context and log, e.g. "proxy". */
  readonly name: string;
  /** Bumped whenever it changes, so older local builds are rebuilt. */
  readonly version: string;
  /** For the progress line, e.g. "awscli, docker.io, git, unzip". */
  readonly what: string;
  readonly packages: readonly string[];
  /** Dockerfile lines after the packages are installed (as root). */
  readonly steps: string;
  /** Written into the build context for `steps` to COPY. */
  readonly files: Readonly<Record<string, string>>;
}

/**
 * Builds a stand-in on the Node base with the host's network (apt reaches the
 * Debian mirror the way the host does) and the host's CA bundle.
 */
async function buildOnBase(
  image: string,
  base: string,
  standIn: StandIn,
  workDir: string,
  log: (line: string) => void,
): Promise<void> {
  const name = standIn.name;
  const logFile = join(workDir, `${name}-build.log`);
  log(`${name}: ${standIn.what} on ${base} (log: ${logFile})`);
  const context = join(workDir, `${name}-context`);
  await rm(context, { recursive: true, force: true });
  await mkdir(context, { recursive: true });
  try {
    const dockerfile = `ARG BASE\nFROM \${BASE}\nUSER root\n${aptInstall(standIn.packages)}\n${standIn.steps}`;
    await writeFile(join(context, "Dockerfile"), dockerfile);
    await cp(HOST_CA_BUNDLE, join(context, "ca-certificates.crt"));
    for (const [file, content] of Object.entries(standIn.files))
      await writeFile(join(context, file), content, { mode: 0o755 });
    await run(
      "docker",
      [
        "build",
        "--network",
        "host",
        "--build-arg",
        `BASE=${base}`,
        "--label",
        `${RECIPE_LABEL}=${standIn.version}`,
        "-t",
        image,
        context,
      ],
      { logFile, timeoutMs: 900_000 },
    );
  } finally {
    await rm(context, { recursive: true, force: true });
  }
}

/** Debian's apt, run in a Dockerfile: the packages, nothing recommended, no lists left behind. */
const aptInstall = (packages: readonly string[]) =>
  `RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${packages.join(" ")} && rm -rf /var/lib/apt/lists/* /usr/share/doc /usr/share/man`;

/**
 * A stand-in's recipe: built on the Node base, then asked its version for the
 * progress line (e.g. "HAProxy version 2.6.12").
 */
export function standInRecipe(standIn: StandIn, versionOf: (image: string) => Promise<string>): ImageRecipe {
  return {
    version: standIn.version,
    fromScratch: false,
    async build(image, { workDir, log, base }) {
      await buildOnBase(image, base, standIn, workDir, log);
      return versionOf(image);
    },
  };
}
