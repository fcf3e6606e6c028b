// Step 02: put the app where the pipeline will take it from.

import { collectSource, currentSource, ensureRepository, seedRepository, uploadSourceZip } from "./lib/aws/source.ts";
import { ecrRepositoryName, templateFile } from "./lib/aws/naming.ts";
import { CODE_DIR, type RunContext } from "./lib/context.ts";
import { ConfigError, StepError } from "./lib/errors.ts";

export const title = "Seed the repository";
export const SOURCE_KEY = "source.zip";
export const BRANCH = "main";

export async function run(ctx: RunContext, quiet = false): Promise<void> {
  const { config, ui } = ctx;
  const say = (f: () => void) => {
    if (!quiet) f();
  };
  say(() =>
    ui.explain(`The pipeline builds whatever is in its source. Here that is the small Express app in code/
(plus infra/service.yaml, the template its Deploy stage uses). It goes to a CodeCommit
repository when the account can use CodeCommit, otherwise to the bucket as source.zip.`),
  );
  const bucket = ctx.state.bucket;
  if (!bucket) throw new StepError("The artifact bucket is not known.", "Run step 01 first (bin/run --from 01).");
  const repoName = ecrRepositoryName(config.prefix);
  if (quiet) {
    // Resuming a later step: take what is seeded now (step 05 may have changed it) instead of seeding again.
    const current = await currentSource(ctx.aws, {
      useCodeCommit: config.target === "aws" && config.source !== "s3",
      repositoryName: repoName,
      branchName: BRANCH,
      bucket,
      key: SOURCE_KEY,
    });
    if (current) {
      ctx.state.source = current;
      return;
    }
  }
  const files = await collectSource(CODE_DIR, templateFile("service"));

  let useCodeCommit = false;
  if (config.target === "aws" && config.source !== "s3") {
    const access = await ensureRepository(ctx.aws.cc, repoName, config.prefix);
    if (access.available) useCodeCommit = true;
    else if (config.source === "codecommit") {
      throw new ConfigError(
        `This account cannot use CodeCommit: ${access.reason}`,
        "Run without --source (or with --source s3): the app then goes to the bucket as source.zip.",
      );
    } else {
      say(() =>
        ui.warn(
          "This account cannot create CodeCommit repositories (closed to new accounts since 2024): using the S3 source instead.",
        ),
      );
    }
  }

  if (useCodeCommit) {
    const spinner = quiet
      ? undefined
      : ui.spin(`committing ${files.length} files to CodeCommit repository ${repoName}`);
    const seeded = await seedRepository(ctx.aws.cc, repoName, BRANCH, files, "Seed the workshop app");
    ctx.state.source = {
      provider: "CodeCommit",
      revision: seeded.commitId,
      version: seeded.commitId.slice(0, 10),
      location: repoName,
    };
    if (seeded.commits > 0) ctx.state.created.push(`CodeCommit repository ${repoName}`);
    spinner?.succeed(
      seeded.commits > 0
        ? `${repoName}@${BRANCH}: commit ${seeded.commitId.slice(0, 10)} (${seeded.commits} commit${seeded.commits > 1 ? "s" : ""})`
        : `${repoName}@${BRANCH} already has this exact tree (commit ${seeded.commitId.slice(0, 10)}); nothing committed`,
    );
    return;
  }

  say(() => {
    if (config.target === "local")
      ui.info(`The emulator cannot store commits, so the rehearsal uses the S3 source: ${SOURCE_KEY}.`);
  });
  const spinner = quiet ? undefined : ui.spin(`uploading ${files.length} files as s3://${bucket}/${SOURCE_KEY}`);
  const uploaded = await uploadSourceZip(ctx.aws.s3, bucket, SOURCE_KEY, files);
  ctx.state.source = { provider: "S3", revision: uploaded.versionId, version: uploaded.version, location: SOURCE_KEY };
  if (uploaded.uploaded) ctx.state.created.push(`s3://${bucket}/${SOURCE_KEY}`);
  spinner?.succeed(
    uploaded.uploaded
      ? `s3://${bucket}/${SOURCE_KEY}: version ${uploaded.version} (object version ${uploaded.versionId})`
      : `s3://${bucket}/${SOURCE_KEY} already holds this exact tree (version ${uploaded.version}); nothing uploaded`,
  );
}
