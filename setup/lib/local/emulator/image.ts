// The emulator's image, where no registry offers motoserver/moto:5.1.1: moto
// from Debian trixie's python3-moto (5.1.x), built with debootstrap.
import { join } from "node:path";
import { StepError } from "../../errors.ts";
import { RECIPE_LABEL } from "../engine/labels.ts";
import { debootstrap, finishRootfs, removeTree } from "../images/debootstrap.ts";
import { importRootfs, run } from "../images/process.ts";
import type { ImageRecipe } from "../images/recipe.ts";
import { MOTO_PORT } from "./moto.ts";

const VERSION = "1";

/**
 * moto from Debian trixie's python3-moto (5.1.x) with what its server needs.
 * python3-moto only Recommends most of these, and debootstrap does not follow
 * Recommends; python3-cffi-backend provides a virtual package that
 * python3-cryptography depends on and debootstrap does not resolve.
 */
const MOTO_PACKAGES = [
  "python3-moto",
  "python3-flask",
  "python3-flask-cors",
  "python3-cffi-backend",
  "python3-aws-xray-sdk",
  "python3-docker",
  "python3-graphql-core",
  "python3-joserfc",
  "python3-jsondiff",
  "python3-jsonpath-ng",
  "python3-multipart",
  "python3-openapi-spec-validator",
  "python3-pyparsing",
  "python3-yaml",
  "python3-setuptools",
  "ca-certificates",
];

async function buildMoto(image: string, workDir: string, log: (line: string) => void): Promise<string> {
  const rootfs = join(workDir, "moto-rootfs");
  const logFile = join(workDir, "moto-build.log");
  await removeTree(rootfs);
  try {
    log(`moto: debootstrap trixie with python3-moto (log: ${logFile})`);
    await debootstrap("trixie", MOTO_PACKAGES, rootfs, logFile);
    const version = (await run("chroot", [rootfs, "python3", "-c", "import moto; print(moto.__version__)"])).trim();
    if (!version.startsWith("5.1.")) {
      throw new StepError(
        `Debian trixie now ships moto ${version}, not 5.1.x.`,
        "Pin a moto 5.1 image with LAB_MOTO_IMAGE, or update the moto recipe in setup/lib/local/emulator/image.ts.",
      );
    }
    await finishRootfs(rootfs);
    await importRootfs(rootfs, image, [
      `LABEL ${RECIPE_LABEL}=${VERSION} org.opencontainers.image.version=${version}`,
      "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      `EXPOSE ${MOTO_PORT}`,
      `ENTRYPOINT ["/usr/bin/moto_server", "-H", "0.0.0.0", "-p", "${MOTO_PORT}"]`,
    ]);
    return `moto ${version} from Debian trixie`;
  } finally {
    await removeTree(rootfs);
  }
}

export const motoRecipe: ImageRecipe = {
  version: VERSION,
  fromScratch: true,
  build: (image, { workDir, log }) => buildMoto(image, workDir, log),
};
