// Pipeline artifacts are zips in the artifact store; an action reads them as files.
import { unzipSync } from "fflate";
import { LabError } from "../../errors.ts";
import type { ActionResult } from "./run.ts";

/** The files of a zip artifact; a path that would leave the directory is refused. */
export function unzipArtifact(zip: Uint8Array, name: string): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  for (const [path, content] of Object.entries(unzipSync(zip))) {
    if (path.endsWith("/")) continue;
    if (path.startsWith("/") || path.split("/").includes(".."))
      throw new LabError(`The artifact ${name} holds a path outside itself: ${path}`, {
        hint: "Seed the source again.",
      });
    files.set(path, content);
  }
  return files;
}

/** A failed action's result, as CodePipeline reports it. */
export const failed = (summary: string, failure?: ActionResult["failure"]): ActionResult => ({
  status: "Failed",
  summary,
  ...(failure ? { failure } : {}),
});
