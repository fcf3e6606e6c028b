// The local stand-in for a pipeline run. The emulator stores the pipeline but
// cannot run it, so this does its work on the local Docker engine, stage for
// stage: Source (the seeded source.zip from the emulator's bucket), Test (the
// Dockerfile's test stage), Build (the image, tagged by the same rule, recorded
// in the emulator's ECR), Deploy (infra/service.yaml to the emulator), and
// runs the image as a container on 127.0.0.1 in place of the Fargate service.
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import { type ECRClient, PutImageCommand } from "@aws-sdk/client-ecr";
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { unzipSync } from "fflate";
import { $ } from "zx";
import { StepError } from "../errors.ts";
import { ecrRepositoryName, prefixTags, stackName, templateFile } from "../aws/naming.ts";
import { type DeployOptions, deployStack } from "../aws/stacks.ts";
import { buildAppImage, runAppChecks } from "./app-image.ts";
import { connectDocker } from "./docker.ts";
import { ensureAppContainer } from "./rehearsal.ts";

export type StageName = "Source" | "Test" | "Build" | "Deploy" | "Run";

export interface LocalPipelineInput {
  readonly prefix: string;
  readonly region: string;
  readonly accountId: string;
  readonly bucket: string;
  readonly key: string;
  readonly nodeImage: string;
  readonly clients: { readonly cfn: CloudFormationClient; readonly s3: S3Client; readonly ecr: ECRClient };
  readonly deployOptions: DeployOptions;
  readonly onStage?: (stage: StageName, state: "started" | "done", detail: string) => void;
  readonly signal?: AbortSignal;
}

export interface LocalRelease {
  readonly version: string;
  /** The app's URL: the container standing in for the service, on 127.0.0.1. */
  readonly url: string;
  /** When a running app was replaced: how long its URL did not answer. */
  readonly downtimeMs?: number;
}

async function unpack(zip: Uint8Array, dir: string): Promise<void> {
  for (const [path, content] of Object.entries(unzipSync(zip))) {
    if (path.endsWith("/")) continue;
    const target = join(dir, path);
    if (!target.startsWith(dir))
      throw new StepError(`source.zip holds a path outside itself: ${path}`, "Seed the source again (step 02).");
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, content);
  }
}

/** A manifest naming the local image, so the emulator's ECR lists the release under its tag. */
async function recordInEcr(ecr: ECRClient, repositoryName: string, tag: string, image: string): Promise<void> {
  const docker = (await connectDocker()).container.dockerode;
  const inspected = await docker.getImage(image).inspect();
  const manifest = {
    schemaVersion: 2,
    mediaType: "application/vnd.docker.distribution.manifest.v2+json",
    config: { mediaType: "application/vnd.docker.container.image.v1+json", size: inspected.Size, digest: inspected.Id },
    layers: [],
  };
  try {
    await ecr.send(new PutImageCommand({ repositoryName, imageTag: tag, imageManifest: JSON.stringify(manifest) }));
  } catch (error) {
    // Tags are immutable: the same release recorded again is already there.
    if ((error as Error).name !== "ImageAlreadyExistsException") throw error;
  }
}

export async function runLocalPipeline(input: LocalPipelineInput): Promise<LocalRelease> {
  const stage = input.onStage ?? (() => undefined);
  const checkAbort = () => input.signal?.throwIfAborted();
  const work = await mkdtemp(join(tmpdir(), "aws-cicd-lab-source-"));
  try {
    stage("Source", "started", `s3://${input.bucket}/${input.key}`);
    const object = await input.clients.s3.send(new GetObjectCommand({ Bucket: input.bucket, Key: input.key }));
    await unpack(await (object.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(), work);
    const version = (await $({ cwd: work, quiet: true })`sh scripts/image-tag.sh`).stdout.trim();
    stage("Source", "done", `version ${version}`);
    checkAbort();

    stage("Test", "started", "lint and unit tests in the Dockerfile's test stage");
    const checks = await runAppChecks({
      contextDir: work,
      nodeImage: input.nodeImage,
      reportsDir: join(work, "reports"),
    });
    stage("Test", "done", `lint exit ${checks.lintExit}, tests exit ${checks.testExit}`);
    checkAbort();

    const repository = ecrRepositoryName(input.prefix);
    const imageUri = `${input.accountId}.dkr.ecr.${input.region}.amazonaws.com/${repository}:${version}`;
    stage("Build", "started", imageUri);
    await buildAppImage({ contextDir: work, nodeImage: input.nodeImage, version, image: imageUri });
    await recordInEcr(input.clients.ecr, repository, version, imageUri);
    stage("Build", "done", imageUri);
    checkAbort();

    stage("Deploy", "started", stackName(input.prefix, "service"));
    const deployed = await deployStack(
      input.clients.cfn,
      {
        name: stackName(input.prefix, "service"),
        templateFile: templateFile("service"),
        parameters: { Prefix: input.prefix, ImageUri: imageUri },
        tags: prefixTags(input.prefix),
        capabilities: ["CAPABILITY_IAM"],
      },
      input.deployOptions,
    );
    stage("Deploy", "done", `${stackName(input.prefix, "service")} ${deployed.action}`);
    checkAbort();

    stage("Run", "started", "the app container, in place of the Fargate service");
    // A fresh secret per container, as the stack's generated secret would be; never printed.
    const app = await ensureAppContainer(input.prefix, imageUri, {
      JWT_SECRET: randomBytes(48).toString("base64"),
      LOG_LEVEL: "info",
    });
    stage("Run", "done", app.reused ? `already running at ${app.url}` : `running at ${app.url}`);
    return {
      version,
      url: app.url,
      ...(app.downtimeMs !== undefined ? { downtimeMs: app.downtimeMs } : {}),
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
