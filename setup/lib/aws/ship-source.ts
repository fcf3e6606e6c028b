// Ships changed source the way step 02 seeded it: a commit on the branch of
// the CodeCommit repository, or a new source.zip in the bucket. Steps 05 and
// 06 change the app this way, and the pipeline picks the change up from there.
import type { RunContext } from "../context.ts";
import { BRANCH, SOURCE_KEY } from "./naming.ts";
import { type CurrentSource, seedRepository, type SourceFile, uploadSourceZip } from "./source.ts";

export interface Shipped {
  /** What the pipeline now builds. */
  readonly source: CurrentSource;
  /** What happened, for the narration. */
  readonly line: string;
}

export async function shipSource(
  ctx: RunContext,
  source: CurrentSource,
  bucket: string,
  files: readonly SourceFile[],
  commitMessage: string,
): Promise<Shipped> {
  if (source.provider === "CodeCommit") {
    const seeded = await seedRepository(ctx.aws.cc, source.location, BRANCH, files, commitMessage);
    const version = seeded.commitId.slice(0, 10);
    return {
      source: { ...source, revision: seeded.commitId, version },
      line: seeded.commits > 0 ? `committed ${version}` : `already committed (${version}); following its release`,
    };
  }
  const uploaded = await uploadSourceZip(ctx.aws.s3, bucket, SOURCE_KEY, files);
  return {
    source: { ...source, revision: uploaded.versionId, version: uploaded.version },
    line: uploaded.uploaded
      ? `uploaded source.zip, version ${uploaded.version}`
      : `source.zip already holds this change (${uploaded.version})`,
  };
}
