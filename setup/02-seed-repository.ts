// Step 02: put the app where the pipeline will take it from.
import { fail, notDone, seededRevision } from "./checks/check.ts";
import { BRANCH, codeCommitRepositoryName, SOURCE_KEY, templateFile } from "./lib/aws/naming.ts";
import { collectSource, ensureRepository, seedRepository, uploadSourceZip } from "./lib/aws/source.ts";
import { CODE_DIR, type RunContext } from "./lib/context.ts";
import { ConfigError, StepError } from "./lib/errors.ts";
import { withSpinner } from "./lib/ui/narrator.ts";

export const title = "Seed the repository";

export async function run(ctx: RunContext): Promise<void> {
  const { config, ui, target, state } = ctx;
  ui.explain(`The pipeline builds whatever is in its source. Here that is the small Express app in code/
(plus infra/service.yaml, the template its Deploy stage uses). It goes to a CodeCommit
repository when the account can use CodeCommit, otherwise to the bucket as source.zip.`);
  const bucket = state.bucket;
  if (!bucket) throw new StepError("The artifact bucket is not known.", "Run `bin/lesson 01` first.");
  const repoName = codeCommitRepositoryName(config.prefix);
  const files = await collectSource(CODE_DIR, templateFile("service"));

  let useCodeCommit = false;
  if (target.triesCodeCommit) {
    const access = await ensureRepository(ctx.aws.cc, repoName, config.prefix);
    if (access.available) useCodeCommit = true;
    else if (config.source === "codecommit") {
      throw new ConfigError(
        `This account cannot use CodeCommit: ${access.reason}`,
        "Run without --source (or with --source s3): the app then goes to the bucket as source.zip.",
      );
    } else {
      ui.warn(`CodeCommit cannot be used here (${access.reason}): using the S3 source instead.`);
    }
  }

  if (useCodeCommit) {
    const seeded = await withSpinner(
      ui,
      `committing ${files.length} files to CodeCommit repository ${repoName}`,
      () => seedRepository(ctx.aws.cc, repoName, BRANCH, files, "Seed the workshop app"),
      {
        done: (s) =>
          s.commits > 0
            ? `${repoName}@${BRANCH}: commit ${s.commitId.slice(0, 10)} (${s.commits} commit${s.commits > 1 ? "s" : ""})`
            : `${repoName}@${BRANCH} already has this exact tree (commit ${s.commitId.slice(0, 10)}); nothing committed`,
      },
    );
    state.source = {
      provider: "CodeCommit",
      revision: seeded.commitId,
      version: seeded.commitId.slice(0, 10),
      location: repoName,
    };
    if (seeded.commits > 0) state.created.push(`CodeCommit repository ${repoName}`);
    return;
  }

  if (target.notes.source) ui.info(target.notes.source);
  const uploaded = await withSpinner(
    ui,
    `uploading ${files.length} files as s3://${bucket}/${SOURCE_KEY}`,
    () => uploadSourceZip(ctx.aws.s3, bucket, SOURCE_KEY, files),
    {
      done: (u) =>
        u.uploaded
          ? `s3://${bucket}/${SOURCE_KEY}: version ${u.version} (object version ${u.versionId})`
          : `s3://${bucket}/${SOURCE_KEY} already holds this exact tree (version ${u.version}); nothing uploaded`,
    },
  );
  state.source = { provider: "S3", revision: uploaded.versionId, version: uploaded.version, location: SOURCE_KEY };
  if (uploaded.uploaded) state.created.push(`s3://${bucket}/${SOURCE_KEY}`);
}

/** Read only: what is seeded now (step 05 may have changed it since). */
export async function recover(ctx: RunContext): Promise<void> {
  const source = await seededRevision(ctx, ctx.state.bucket as string);
  if (!source) throw notDone(fail("The app is not seeded yet. Run `bin/lesson 02`."));
  ctx.state.source = source;
}
