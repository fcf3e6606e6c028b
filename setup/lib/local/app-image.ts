// Builds the app image on the local Docker engine the way CodeBuild does:
// the Dockerfile's test stage first (lint and unit tests; the results and the
// JUnit report are copied out, as code/scripts/run-checks.sh does in
// CodeBuild), then the image itself with APP_VERSION. It talks to the engine
// through its API, so it needs no docker CLI (the demo image has none).
import { mkdir, readFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import dockerignore, { type Ignore } from "@balena/dockerignore";
import tar from "tar-fs";
import { StepError } from "../errors.ts";
import { connectDocker } from "./docker.ts";

export interface AppBuild {
  /** Directory with the app's Dockerfile (code/, or an unpacked source.zip). */
  readonly contextDir: string;
  readonly nodeImage: string;
  /** Becomes APP_VERSION. */
  readonly version: string;
  /** Tag for the image, e.g. lab-app:1a2b3c4d5e. */
  readonly image: string;
  /** Where the JUnit report and check outputs are copied. */
  readonly reportsDir: string;
}

export interface ChecksResult {
  readonly lintExit: number;
  readonly testExit: number;
  readonly reportsDir: string;
}

const CHECKS_IMAGE = "lab-app-checks";

/** The build context as a tar stream, leaving out what .dockerignore names. */
async function contextTar(dir: string): Promise<NodeJS.ReadableStream> {
  // The package's type declarations describe a namespace; at run time its default export is the factory.
  const rules = (dockerignore as unknown as (options?: { ignorecase: boolean }) => Ignore)({ ignorecase: false }).add(
    (await readFile(join(dir, ".dockerignore"), "utf8").catch(() => "")).split("\n").filter((l) => l.trim() !== ""),
  );
  return tar.pack(dir, {
    ignore: (name) => {
      const path = relative(dir, name).split(sep).join("/");
      return path !== "Dockerfile" && path !== "" && rules.ignores(path);
    },
  }) as unknown as NodeJS.ReadableStream;
}

/**
 * Runs a build through the engine's API. The host's network is used so npm
 * inside the build reaches the registry the way the host does (a proxy
 * included). Throws with the build's last lines when a step fails.
 */
export async function buildImage(
  dir: string,
  options: { t: string; target?: string; buildargs: Record<string, string> },
): Promise<void> {
  const docker = (await connectDocker()).container.dockerode;
  const stream = await docker.buildImage(await contextTar(dir), {
    t: options.t,
    buildargs: options.buildargs,
    networkmode: "host",
    ...(options.target ? { target: options.target } : {}),
  });
  const lines: string[] = [];
  const events = await new Promise<Array<{ error?: string; stream?: string }>>((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (error: Error | null, output: Array<{ error?: string; stream?: string }>) =>
        error ? reject(error) : resolve(output),
      (event: { stream?: string }) => {
        if (event.stream) lines.push(...event.stream.split("\n").filter((l) => l.trim() !== ""));
      },
    );
  });
  const failed = events.find((e) => e.error);
  if (failed) {
    throw new StepError(
      `Building ${options.t} failed: ${failed.error}\n${lines.slice(-15).join("\n")}`,
      `Reproduce it with \`docker build${options.target ? ` --target ${options.target}` : ""} .\` in ${dir}.`,
    );
  }
}

/** Builds the test stage and copies /app/reports out; throws if lint or tests failed. */
export async function runAppChecks(
  b: Pick<AppBuild, "contextDir" | "nodeImage" | "reportsDir">,
): Promise<ChecksResult> {
  await buildImage(b.contextDir, { t: CHECKS_IMAGE, target: "test", buildargs: { NODE_IMAGE: b.nodeImage } });
  const docker = (await connectDocker()).container.dockerode;
  const container = await docker.createContainer({ Image: CHECKS_IMAGE, Cmd: ["true"] });
  try {
    await mkdir(b.reportsDir, { recursive: true });
    const archive = await container.getArchive({ path: "/app/reports/." });
    await pipeline(archive as unknown as Readable, tar.extract(b.reportsDir));
  } finally {
    await container.remove({ force: true });
  }
  const exit = async (name: string) => Number((await readFile(join(b.reportsDir, `${name}.exit`), "utf8")).trim());
  const result = { lintExit: await exit("lint"), testExit: await exit("test"), reportsDir: b.reportsDir };
  if (result.lintExit !== 0 || result.testExit !== 0) {
    const which = result.lintExit !== 0 ? "lint" : "test";
    const output = (await readFile(join(b.reportsDir, `${which}.txt`), "utf8"))
      .trim()
      .split("\n")
      .slice(-15)
      .join("\n");
    throw new StepError(
      `The app's ${which === "lint" ? "lint" : "unit tests"} failed:\n${output}`,
      `Fix the app in ${b.contextDir}; the JUnit report is in ${join(b.reportsDir, "junit.xml")}.`,
    );
  }
  return result;
}

export async function buildAppImage(b: Omit<AppBuild, "reportsDir">): Promise<void> {
  await buildImage(b.contextDir, { t: b.image, buildargs: { NODE_IMAGE: b.nodeImage, APP_VERSION: b.version } });
}
