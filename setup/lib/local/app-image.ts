// Builds the app image on the local Docker engine the way CodeBuild does:
// the Dockerfile's test stage first (code/scripts/run-checks.sh, the same
// script the buildspec runs), then the image itself with APP_VERSION.
import { $ } from "zx";
import { StepError } from "../errors.ts";

export interface AppBuild {
  /** Directory with the app's Dockerfile (code/, or a seeded checkout of it). */
  readonly contextDir: string;
  readonly nodeImage: string;
  /** Becomes APP_VERSION and the image tag. */
  readonly version: string;
  /** e.g. lab-app:1a2b3c4d5e */
  readonly image: string;
  /** Where the JUnit report and check outputs are copied. */
  readonly reportsDir: string;
}

/**
 * Docker builds here use the host's network, so npm inside the build reaches
 * the registry the way the host does (through its proxy, if any).
 */
const BUILD_NETWORK = "host";

export async function runAppChecks(build: AppBuild): Promise<void> {
  const result = await $({
    cwd: build.contextDir,
    env: { ...process.env, NODE_IMAGE: build.nodeImage, DOCKER_BUILD_NETWORK: BUILD_NETWORK },
    nothrow: true,
    quiet: true,
  })`sh scripts/run-checks.sh ${build.reportsDir}`;
  if (result.exitCode !== 0) {
    const tail = result.stderr.trim().split("\n").slice(-15).join("\n");
    throw new StepError(
      `The app's checks failed:\n${tail}`,
      `Fix the app in ${build.contextDir}; the JUnit report is in ${build.reportsDir}.`,
    );
  }
}

export async function buildAppImage(build: Omit<AppBuild, "reportsDir">): Promise<void> {
  const result = await $({
    cwd: build.contextDir,
    nothrow: true,
    quiet: true,
  })`docker build --network ${BUILD_NETWORK} --build-arg NODE_IMAGE=${build.nodeImage} --build-arg APP_VERSION=${build.version} -t ${build.image} .`;
  if (result.exitCode !== 0) {
    const tail = `${result.stdout}${result.stderr}`.trim().split("\n").slice(-15).join("\n");
    throw new StepError(
      `Building ${build.image} failed:\n${tail}`,
      "Read the build output above; `docker build` in code/ reproduces it.",
    );
  }
}
