// `docker build` of a directory through the engine's API, for images outside
// the pipeline (the demo image, the benchmark's app image): it needs no
// docker CLI and reports a failed build with its last lines. The pipeline's
// own builds run its buildspecs in the build stand-in (codebuild.ts).
import { readFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import dockerignore, { type Ignore } from "@balena/dockerignore";
import tar from "tar-fs";
import { StepError } from "../../errors.ts";
import { connectDocker } from "./client.ts";

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
