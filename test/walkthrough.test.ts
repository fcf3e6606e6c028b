// The local rehearsal end to end, against a real emulator container and the
// real Docker engine: run → verify → teardown → nothing left; a re-run after
// an interruption at each step; teardown twice. The emulator here is this
// file's own (AWS_ENDPOINT_URL), so the test can look inside it afterwards.
import { CloudFormationClient, DescribeStacksCommand, ListStacksCommand } from "@aws-sdk/client-cloudformation";
import {
  CreateRepositoryCommand,
  DeleteRepositoryCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  ListImagesCommand,
  PutImageCommand,
} from "@aws-sdk/client-ecr";

/** A minimal image manifest the emulator's ECR accepts. */
const MANIFEST = JSON.stringify({
  schemaVersion: 2,
  mediaType: "application/vnd.docker.distribution.manifest.v2+json",
  config: { mediaType: "application/vnd.docker.container.image.v1+json", size: 2, digest: `sha256:${"0".repeat(64)}` },
  layers: [],
});
import { ListBucketsCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { useEmulator } from "../lessons/support/emulator.ts";
import { narrationSink } from "../lessons/support/narration-sink.ts";
import { templateFile } from "../setup/lib/aws/naming.ts";
import { deleteStack, deployStack } from "../setup/lib/aws/stacks.ts";
import { InterruptedError } from "../setup/lib/errors.ts";
import { connectDocker, removeContainers } from "../setup/lib/local/engine/client.ts";
import { findRehearsal } from "../setup/lib/local/engine/rehearsal.ts";
import { loadBalancerUrl, removeTaskNetwork } from "../setup/lib/local/elbv2/load-balancer.ts";
import { lesson } from "../setup/lesson.ts";
import { run } from "../setup/run.ts";
import { placesOf } from "../setup/lib/run-records.ts";
import { STEPS } from "../setup/steps.ts";
import { runTeardown } from "../setup/teardown.ts";
import { directOperations } from "../setup/lib/local/cloudformation/direct.ts";
import { emulatorClient } from "../setup/lib/local/emulator/clients.ts";

const fixture = useEmulator();

/** The narration, kept for a failing test's message instead of filling the test output. */
const sink = narrationSink();
const output = sink.output;
const quiet = { output };

function env(): NodeJS.ProcessEnv {
  return { ...process.env, AWS_ENDPOINT_URL: fixture.emulator.endpoint, REGION: undefined, CI: "true", NO_COLOR: "1" };
}

async function activeStacks(prefix: string): Promise<string[]> {
  const cfn = emulatorClient(CloudFormationClient, fixture.config.aws);
  const { StackSummaries } = await cfn.send(new ListStacksCommand({}));
  return (StackSummaries ?? [])
    .filter((s) => s.StackName?.startsWith(`${prefix}-`) && s.StackStatus !== "DELETE_COMPLETE")
    .map((s) => `${s.StackName} ${s.StackStatus}`)
    .sort();
}

/** Each stack's status and last change time: equal before and after means nothing was deployed. */
async function stackStates(cfn: CloudFormationClient, prefix: string): Promise<string[]> {
  const { Stacks } = await cfn.send(new DescribeStacksCommand({}));
  return (Stacks ?? [])
    .filter((s) => s.StackName?.startsWith(`${prefix}-`))
    .map((s) => `${s.StackName} ${s.StackStatus} ${(s.LastUpdatedTime ?? s.CreationTime)?.toISOString()}`)
    .sort();
}

async function buckets(prefix: string): Promise<string[]> {
  const s3 = emulatorClient(S3Client, fixture.config.aws);
  return ((await s3.send(new ListBucketsCommand({}))).Buckets ?? [])
    .map((b) => b.Name as string)
    .filter((n) => n.startsWith(`${prefix}-`));
}

async function images(prefix: string): Promise<number> {
  const ecr = emulatorClient(ECRClient, fixture.config.aws);
  const repos = await ecr
    .send(new DescribeRepositoriesCommand({ repositoryNames: [`${prefix}-app`] }))
    .catch(() => undefined);
  if (!repos) return 0;
  // ListImages lists a tag at a time; an image is a digest (each has its tag and its content tag).
  const ids = (await ecr.send(new ListImagesCommand({ repositoryName: `${prefix}-app` }))).imageIds ?? [];
  return new Set(ids.map((i) => i.imageDigest)).size;
}

/** The Docker engine's tags of the run's app images (built in the build container, pulled for the tasks). */
async function engineImages(prefix: string): Promise<string[]> {
  const docker = (await connectDocker()).container.dockerode;
  return (await docker.listImages())
    .flatMap((i) => i.RepoTags ?? [])
    .filter((tag) => new RegExp(`^127\\.0\\.0\\.1:\\d+/${prefix}-app:`).test(tag));
}

beforeEach(() => sink.clear());

const usedPrefixes: string[] = [];
afterAll(async () => {
  // Whatever a failed assertion left: containers of this file's rehearsals.
  for (const p of usedPrefixes) {
    await removeContainers((await findRehearsal(p)).map((c) => c.id));
    await removeTaskNetwork(p);
  }
});

describe("the local rehearsal", () => {
  it("runs every step, verifies the app and the shipped change, tears down, and leaves nothing in the emulator or Docker", async () => {
    const prefix = "lab-e2e";
    usedPrefixes.push(prefix);
    expect(await run(["--prefix", prefix], env(), quiet), sink.text()).toBe(0);
    expect(sink.text()).toMatch(/answers as version s3-[0-9a-f]{10}/);
    expect(sink.text()).toContain("Emulated: AWS itself");
    // Step 01 starts the environment stack; step 03 counts it as created once.
    expect(sink.text()).toContain(`${prefix}-environment: started (step 03 follows it to the end)`);
    expect(sink.text()).toContain(`${prefix}-pipeline: created; ${prefix}-environment: created`);
    expect(sink.text()).toMatch(/GET \/time: "Automation for the People, continuously delivered"/);
    // Step 05's rolling deployment behind the load balancer stand-in: no request failed.
    expect(sink.text()).toMatch(/\d+ requests to http:\/\/127\.0\.0\.1:\d+\/time during the release, 0 failed/);

    expect(await activeStacks(prefix)).toEqual([]);
    expect(await buckets(prefix)).toEqual([]);
    expect(await images(prefix)).toBe(0);
    expect(await findRehearsal(prefix)).toEqual([]);
    expect(await engineImages(prefix)).toEqual([]);
  }, 600_000);

  it("--keep leaves it running and answering; teardown then removes it, and a second teardown succeeds", async () => {
    const prefix = "lab-keep";
    usedPrefixes.push(prefix);
    // Up to 05: the test above ran 06; this one is about --keep, --from and teardown.
    expect(await run(["--prefix", prefix, "--keep", "--until", "05"], env(), quiet), sink.text()).toBe(0);

    expect(await activeStacks(prefix)).toEqual([
      `${prefix}-bucket CREATE_COMPLETE`,
      `${prefix}-environment CREATE_COMPLETE`,
      `${prefix}-pipeline CREATE_COMPLETE`,
      `${prefix}-service UPDATE_COMPLETE`, // updated by step 05
    ]);
    expect((await findRehearsal(prefix)).filter((c) => c.role === "task")).toHaveLength(2);
    expect((await fetch(`${await loadBalancerUrl(prefix)}/health`)).status).toBe(200);
    // Recorded, so that a teardown aimed at AWS names this rehearsal.
    expect(await placesOf(process.env.LAB_STATE_DIR!, prefix)).toEqual([
      expect.objectContaining({ prefix, target: "local" }),
    ]);

    // --from recovers what earlier steps made, read only: nothing redeployed, rebuilt or re-seeded.
    const cfn = emulatorClient(CloudFormationClient, fixture.config.aws);
    const before = await stackStates(cfn, prefix);
    sink.clear();
    expect(await run(["--prefix", prefix, "--from", "05", "--until", "05", "--keep"], env(), quiet), sink.text()).toBe(
      0,
    );
    expect(sink.text()).not.toMatch(/Step 0[1-4]/);
    expect(sink.text()).toMatch(/Step 05 · Ship a change/);
    expect(await stackStates(cfn, prefix)).toEqual(before);
    // Step 05's change was built by the first run: nothing new.
    expect(await images(prefix)).toBe(2);

    sink.clear();
    expect(await runTeardown(["--prefix", prefix, "--dry-run"], env(), quiet)).toBe(0);
    expect(sink.text()).toMatch(
      /would delete: stack lab-keep-service[\s\S]*would delete: every object version in s3:\/\/lab-keep-artifacts/,
    );
    expect(await activeStacks(prefix)).toHaveLength(4);
    expect((await engineImages(prefix)).length).toBeGreaterThan(0);

    expect(await runTeardown(["--prefix", prefix], env(), quiet)).toBe(0);
    expect(sink.text()).toMatch(/removed \d+ app image\(s\) from the Docker engine/);
    expect(await engineImages(prefix)).toEqual([]);
    expect(await activeStacks(prefix)).toEqual([]);
    expect(await findRehearsal(prefix)).toEqual([]);
    // The proxy, the tasks and their network are gone too: nothing is left to remove, nothing recorded.
    expect(await removeTaskNetwork(prefix)).toBe(false);
    expect(await placesOf(process.env.LAB_STATE_DIR!, prefix)).toEqual([]);
    expect(await runTeardown(["--prefix", prefix], env(), quiet)).toBe(0);
  }, 300_000);

  it.each(STEPS.map((s) => s.id))(
    "after an interruption at step %s, a re-run completes without duplicates",
    async (step) => {
      const prefix = `lab-int-${step}`;
      usedPrefixes.push(prefix);
      // Up to step 05 unless the interruption is later: steps 06-08's releases and alarms add nothing
      // to what an interruption before them tests, and the run above went through all of them.
      const until = step === STEPS.at(-1)?.id ? [] : ["--until", step >= "06" ? step : "05"];
      const interrupted = await run(["--prefix", prefix, "--keep", ...until], env(), {
        output,
        afterStep: (id) => {
          if (id === step) throw new InterruptedError();
        },
      });
      expect(interrupted, sink.text()).toBe(130);
      expect(sink.text()).toMatch(/Interrupted\.[\s\S]*run the same command again/);

      expect(await run(["--prefix", prefix, "--keep", ...until], env(), quiet), sink.text()).toBe(0);
      // Step 07 adds the monitoring stack.
      expect(await activeStacks(prefix)).toHaveLength(step >= "07" ? 5 : 4);
      expect(await buckets(prefix)).toHaveLength(1);
      // The first release, the change step 05 ships, step 06's broken release, and step 08's slow release
      // and its fix, each image built once (step 08's template change builds step 05's image again: the
      // same code, the same digest).
      expect(await images(prefix)).toBe(step >= "08" ? 5 : step >= "06" ? 3 : 2);
      expect((await findRehearsal(prefix)).filter((c) => c.role === "task")).toHaveLength(2);

      expect(await runTeardown(["--prefix", prefix], env(), quiet)).toBe(0);
      expect(await activeStacks(prefix)).toEqual([]);
    },
    600_000,
  );

  it("refuses a prefix whose stacks were not made by the workshop (exit 2), touching nothing", async () => {
    const prefix = "lab-taken";
    usedPrefixes.push(prefix);
    const cfn = emulatorClient(CloudFormationClient, fixture.config.aws);
    // Someone else's stack that happens to carry this prefix's name, without the workshop's tag.
    await deployStack(
      cfn,
      { name: `${prefix}-bucket`, templateFile: templateFile("bucket"), parameters: { Prefix: prefix }, tags: {} },
      { pollSeconds: 1, maxWaitSeconds: 30, operations: directOperations },
    );

    expect(await run(["--prefix", prefix], env(), quiet)).toBe(2);
    expect(sink.text()).toMatch(
      /The prefix "lab-taken" is taken: lab-taken-bucket exists and was not made by this workshop/,
    );
    expect(await activeStacks(prefix)).toEqual([`${prefix}-bucket CREATE_COMPLETE`]);
    await deleteStack(cfn, `${prefix}-bucket`, { pollSeconds: 1 });
  }, 120_000);

  it("bin/lesson's list starts nothing when no rehearsal runs for the prefix", async () => {
    const prefix = "lab-list";
    usedPrefixes.push(prefix);
    const own = { ...env(), AWS_ENDPOINT_URL: undefined };
    expect(await lesson(["--prefix", prefix], own, quiet)).toBe(0);
    expect(sink.text()).toMatch(/· 01 Artifact bucket +No rehearsal is running for this prefix/);
    expect(await findRehearsal(prefix)).toEqual([]);
  });

  it("teardown refuses (exit 2) an image repository with the run's name but not its tag, and leaves it", async () => {
    const prefix = "lab-foreign";
    usedPrefixes.push(prefix);
    const ecr = emulatorClient(ECRClient, fixture.config.aws);
    await ecr.send(
      new CreateRepositoryCommand({ repositoryName: `${prefix}-app`, tags: [{ Key: "team", Value: "x" }] }),
    );
    await ecr.send(new PutImageCommand({ repositoryName: `${prefix}-app`, imageTag: "keep", imageManifest: MANIFEST }));

    expect(await runTeardown(["--prefix", prefix], env(), quiet)).toBe(2);
    expect(sink.text()).toMatch(
      /ECR repository lab-foreign-app exists without the tag aws-cicd-lab:prefix=lab-foreign/,
    );
    expect(await images(prefix)).toBe(1);
    await ecr.send(new DeleteRepositoryCommand({ repositoryName: `${prefix}-app`, force: true }));
  }, 120_000);
});
