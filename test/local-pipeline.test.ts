// The rehearsal runs the pipeline as the template defines it: each test
// changes the template or the app's source the way a learner would, deploys
// and seeds it into the emulator, and runs the pipeline with the stand-ins
// (the build container, the registry). It must fail where AWS would fail,
// naming the stage, the action and what went wrong, and follow a consistent
// change with no code change.
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DescribeStacksCommand } from "@aws-sdk/client-cloudformation";
import { BatchDeleteImageCommand, DescribeImagesCommand, PutImageCommand } from "@aws-sdk/client-ecr";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { zipSync } from "fflate";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useEmulator } from "../lessons/support/emulator.ts";
import {
  ecrRepositoryName,
  prefixTags,
  SOURCE_KEY,
  STACK_CAPABILITIES,
  stackName,
  templateFile,
} from "../setup/lib/aws/naming.ts";
import { collectSource, uploadSourceZip } from "../setup/lib/aws/source.ts";
import { environmentStack } from "../setup/lib/aws/environment-stack.ts";
import { deployStack } from "../setup/lib/aws/stacks.ts";
import { readImages } from "../setup/lib/config.ts";
import { runPipeline } from "../setup/lib/local/codepipeline/run.ts";
import { removeContainers } from "../setup/lib/local/engine/client.ts";
import { EMULATOR_ACCOUNT_ID } from "../setup/lib/local/emulator/moto.ts";
import { localProviders } from "../setup/lib/local/codepipeline/actions/index.ts";
import { renderDeployedStack } from "../setup/lib/local/cloudformation/render.ts";
import { holdPipeline, readHeldPipeline } from "../setup/lib/local/codepipeline/pipelines.ts";
import { ensureRegistry, registryManifest, registryTags } from "../setup/lib/local/ecr/registry.ts";
import { reconcileRegistryWithEcr } from "../setup/lib/local/ecr/mirror.ts";
import { findRehearsal } from "../setup/lib/local/engine/rehearsal.ts";
import { directOperations } from "../setup/lib/local/cloudformation/direct.ts";
import { emulatorClients } from "../setup/lib/local/emulator/clients.ts";

const PREFIX = "pipe-test";
const ROOT = join(import.meta.dirname, "..");
const fixture = useEmulator();
const images = readImages(process.env);
let work: string;
let bucket: string;
let registry: string;

const clients = () => emulatorClients(fixture.config.aws);
const options = { operations: directOperations, pollSeconds: 1, maxWaitSeconds: 120 };

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "lab-pipeline-test-"));
  registry = (await ensureRegistry(PREFIX, images.registry)).address;
  const { cfn } = clients();
  const created = await deployStack(
    cfn,
    {
      name: stackName(PREFIX, "bucket"),
      templateFile: templateFile("bucket"),
      parameters: { Prefix: PREFIX },
      tags: prefixTags(PREFIX),
    },
    options,
  );
  bucket = created.outputs.BucketName as string;
  await deployStack(cfn, environmentStack(PREFIX, ["us-east-1a", "us-east-1b"]), options);
}, 120_000);

afterAll(async () => {
  await removeContainers((await findRehearsal(PREFIX)).map((c) => c.id));
  await rm(work, { recursive: true, force: true });
});

/** A copy of code/ with `edit` applied to one file, seeded as source.zip. */
async function seed(edits: Record<string, (text: string) => string> = {}): Promise<void> {
  const dir = await mkdtemp(join(work, "code-"));
  await cp(join(ROOT, "code"), dir, { recursive: true, filter: (src) => !src.includes("node_modules") });
  for (const [file, edit] of Object.entries(edits)) {
    const path = join(dir, file);
    const before = await readFile(path, "utf8");
    const after = edit(before);
    expect(after, `the edit of ${file} changed nothing`).not.toBe(before);
    await writeFile(path, after);
  }
  const files = await collectSource(dir, templateFile("service"));
  await uploadSourceZip(clients().s3, bucket, SOURCE_KEY, files);
}

/** infra/pipeline.yaml with `edit` applied, deployed and held in the emulator. */
async function deployPipeline(edit: (text: string) => string = (t) => t): Promise<void> {
  const file = join(work, `pipeline-${Date.now()}.yaml`);
  await writeFile(file, edit(await readFile(templateFile("pipeline"), "utf8")));
  const name = stackName(PREFIX, "pipeline");
  await deployStack(
    clients().cfn,
    {
      name,
      templateFile: file,
      parameters: {
        Prefix: PREFIX,
        ArtifactBucketName: bucket,
        SourceProvider: "S3",
        RepositoryName: `${PREFIX}-app-source`,
        SourceObjectKey: SOURCE_KEY,
      },
      tags: prefixTags(PREFIX),
      capabilities: STACK_CAPABILITIES.pipeline,
    },
    options,
  );
  const template = await renderDeployedStack(clients().cfn, name, file, EMULATOR_ACCOUNT_ID, "us-east-1");
  await holdPipeline(clients(), template);
}

async function run(): Promise<string[]> {
  const said: string[] = [];
  const pipeline = await readHeldPipeline(clients(), `${PREFIX}-pipeline`);
  await runPipeline({
    pipeline,
    s3: clients().s3,
    providers: localProviders({
      prefix: PREFIX,
      region: "us-east-1",
      accountId: EMULATOR_ACCOUNT_ID,
      endpoint: fixture.emulator.endpoint,
      buildImage: images.build,
      nodeImage: images.node,
      registry,
      clients: clients(),
      deployOptions: options,
      // The pipeline alone: the service stack is recorded by the emulator, no service is run.
      providers: [],
    }),
    say: (line) => said.push(line),
  });
  return said;
}

const replaceOnce = (from: string, to: string) => (text: string) => {
  expect(text.split(from).length, `"${from}" appears once`).toBe(2);
  return text.replace(from, to);
};

describe("the rehearsal runs the pipeline as defined", { timeout: 600_000 }, () => {
  it("releases the app unchanged, with the image pushed to the registry and visible in ECR", async () => {
    await deployPipeline();
    await seed();
    const said = await run();
    expect(said).toEqual(
      expect.arrayContaining([expect.stringMatching(/^report lab-app-tests: \d+ test cases: \d+ passed, 0 failed/)]),
    );
    const { imageDetails } = await clients().ecr.send(
      new DescribeImagesCommand({ repositoryName: ecrRepositoryName(PREFIX) }),
    );
    // The tag and its content tag, on one image: a later build reuses the tag only for this content.
    // (In the order the registry lists them, which its storage does not fix: compared sorted.)
    expect(imageDetails?.map((d) => [...(d.imageTags ?? [])].sort())).toEqual([
      [expect.stringMatching(/^s3-[0-9a-f]{10}$/), expect.stringMatching(/^s3-[0-9a-f]{10}-src-[0-9a-f]{12}$/)],
    ]);
  });

  it("keeps the registry and the emulator's ECR holding the same images", async () => {
    const repository = ecrRepositoryName(PREFIX);
    const { ecr } = clients();
    // The release's image, under its tag and its content tag.
    const tags = await registryTags(registry, repository);
    const [tag] = tags;
    if (!tag) throw new Error("the release left no image in the registry");
    // An image ECR lists whose layers the registry does not hold, and one the registry holds that ECR does not.
    const { manifest } = await registryManifest(registry, repository, tag);
    await ecr.send(
      new PutImageCommand({ repositoryName: repository, imageTag: "lost-layers", imageManifest: manifest }),
    );
    await ecr.send(
      new BatchDeleteImageCommand({ repositoryName: repository, imageIds: tags.map((imageTag) => ({ imageTag })) }),
    );
    expect((await reconcileRegistryWithEcr(ecr, registry, repository)).sort()).toEqual(
      [`ECR ${repository}:lost-layers`, ...tags.map((t) => `registry ${repository}:${t}`)].sort(),
    );
    expect(await registryTags(registry, repository)).toEqual([]);
    const { imageDetails } = await ecr.send(new DescribeImagesCommand({ repositoryName: repository }));
    expect(imageDetails).toEqual([]);
  });

  it("fails at TestAndBuild › BuildAndPushImage on a failing buildspec command, with its output", async () => {
    await seed({
      "buildspec.yml": replaceOnce(
        "  pre_build:\n    commands:\n",
        '  pre_build:\n    commands:\n      - echo "registry credentials missing" >&2 && exit 7\n',
      ),
    });
    const failure = run();
    await expect(failure).rejects.toThrow(
      /\nTestAndBuild › BuildAndPushImage failed: Build terminated with state: FAILED\. Phase: PRE_BUILD, Code: COMMAND_EXECUTION_ERROR, Message: Error while executing command: echo "registry credentials missing" >&2 && exit 7\. Reason: exit status 7\n/,
    );
    await expect(failure).rejects.toThrow(
      /last \d+ lines of the pipe-test-build build log:[\s\S]*registry credentials missing/,
    );
  });

  it("fails at TestAndBuild › LintAndUnitTests when the report file is missing", async () => {
    await seed({ "buildspec-test.yml": replaceOnce("      - junit.xml", "      - junit-results.xml") });
    await expect(run()).rejects.toThrow(
      /\nTestAndBuild › LintAndUnitTests failed: Build terminated with state: FAILED\. Phase: UPLOAD_ARTIFACTS, Code: CLIENT_ERROR, Message: \[lab-app-tests: \[report files not found in build\]\]/,
    );
  });

  it("refuses, as CodePipeline does, a pipeline whose action needs an artifact no action produces", async () => {
    await expect(
      deployPipeline(
        replaceOnce(
          "              InputArtifacts:\n                - Name: Release",
          "              InputArtifacts:\n                - Name: Releases",
        ),
      ),
    ).rejects.toThrow(
      /The pipeline pipe-test-pipeline is not valid: Deploy › DeployService takes the input artifact "Releases", which no earlier action produces/,
    );
  });

  it("fails at Deploy › DeployService when TemplatePath names a file the artifact does not hold", async () => {
    await deployPipeline(
      replaceOnce("TemplatePath: Release::infra/service.yaml", "TemplatePath: Release::infra/servce.yaml"),
    );
    await seed();
    await expect(run()).rejects.toThrow(
      /\nDeploy › DeployService failed: TemplatePath Release::infra\/servce\.yaml: the artifact Release holds no file infra\/servce\.yaml/,
    );
  });

  it("fails at Deploy › DeployService when TemplateConfiguration sets a parameter the template lacks", async () => {
    await deployPipeline();
    await seed({ "buildspec.yml": replaceOnce(`{"ImageUri":"%s"}`, `{"ImageUri":"%s","Replicas":"3"}`) });
    await expect(run()).rejects.toThrow(
      /\nDeploy › DeployService failed: Parameters: \[Replicas\] do not exist in the template/,
    );
  });

  it("follows a renamed output artifact, changed consistently, with no code change", async () => {
    await deployPipeline((text) =>
      text.replaceAll("Name: Release", "Name: Bundle").replaceAll("Release::", "Bundle::"),
    );
    await seed({ "src/app.ts": (text) => `${text}\n// renamed artifact\n` });
    const pipeline = await readHeldPipeline(clients(), `${PREFIX}-pipeline`);
    expect(pipeline.stages?.at(-1)?.actions?.[0]?.inputArtifacts).toEqual([{ name: "Bundle" }]);
    await run();
    const { Stacks } = await clients().cfn.send(new DescribeStacksCommand({ StackName: stackName(PREFIX, "service") }));
    expect(Stacks?.[0]?.StackStatus).toMatch(/^(CREATE|UPDATE)_COMPLETE$/);
  });

  it("refuses to reuse a tag for other content: a source.zip with new code and the old VERSION fails the build", async () => {
    await deployPipeline();
    await seed();
    await run();
    const { imageDetails } = await clients().ecr.send(
      new DescribeImagesCommand({ repositoryName: ecrRepositoryName(PREFIX) }),
    );
    const released = imageDetails?.flatMap((d) => d.imageTags ?? []).find((t) => /^s3-[0-9a-f]{10}$/.test(t));
    if (!released) throw new Error("the first release pushed no s3-… tag");

    // Changed code, zipped by hand with the VERSION of what already runs.
    const dir = await mkdtemp(join(work, "stale-"));
    await cp(join(ROOT, "code"), dir, { recursive: true, filter: (src) => !src.includes("node_modules") });
    await writeFile(join(dir, "src/app.ts"), `${await readFile(join(dir, "src/app.ts"), "utf8")}\n// new code\n`);
    const files = await collectSource(dir, templateFile("service"));
    const entries = Object.fromEntries(files.map((f) => [f.path, f.content]));
    entries.VERSION = new TextEncoder().encode(`${released}\n`);
    await clients().s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: SOURCE_KEY, Body: zipSync(entries), ServerSideEncryption: "AES256" }),
    );
    await expect(run()).rejects.toThrow(
      new RegExp(`${released} already exists but was not built from this source content`),
    );
    // What runs is still the image of the first release: nothing was pushed or deployed.
    const after = await clients().ecr.send(new DescribeImagesCommand({ repositoryName: ecrRepositoryName(PREFIX) }));
    expect(after.imageDetails?.flatMap((d) => d.imageTags ?? []).sort()).toEqual(
      imageDetails?.flatMap((d) => d.imageTags ?? []).sort(),
    );
  });
});
