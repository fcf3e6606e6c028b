// code/buildspec.yml run as CodeBuild runs it, on a source tree like the one a
// source.zip unpacks to, with the AWS and Docker CLIs stubbed
// (test/build-scripts-stubs.ts keeps the repository's images between runs, so
// a second build sees what the first one pushed). What is decided here: build
// and push both tags when the tag is new, reuse an image only if it carries the
// content tag of this very source, fail otherwise.
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { CODE, makeStubs, REGISTRY, REPOSITORY_URI, runBuildspec, type Stubs } from "./build-scripts-stubs.ts";

const VERSION = "s3-0123456789";
const IMAGE_URI = `${REPOSITORY_URI}:${VERSION}`;
const LOCAL_NODE = "aws-cicd-lab/node:24-bookworm-slim";

/** A source.zip's tree: the build's scripts, VERSION and some app files. */
function source(version = VERSION): string {
  const dir = mkdtempSync(join(tmpdir(), "lab-build-src-"));
  cpSync(join(CODE, "scripts"), join(dir, "scripts"), { recursive: true });
  cpSync(join(CODE, "buildspec.yml"), join(dir, "buildspec.yml"));
  for (const [path, content] of Object.entries({
    VERSION: `${version}\n`,
    Dockerfile: "FROM node\n",
    "src/app.ts": "export const greeting = 'hello';\n",
    "infra/service.yaml": "Resources: {}\n",
  })) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

function digestOf(dir: string): string {
  return spawnSync("sh", [join(CODE, "scripts", "source-digest.sh")], { cwd: dir, encoding: "utf8" }).stdout.trim();
}

function build(dir: string, stubs: Stubs, env: Record<string, string> = {}) {
  stubs.clearCalls();
  const r = runBuildspec("buildspec.yml", dir, {
    ...stubs.env,
    REPOSITORY_URI,
    AWS_REGION: "eu-west-1",
    PREFIX: "demo",
    ENVIRONMENT_STACK: "demo-environment",
    WAIT_INTERVAL: "0",
    ...env,
  });
  const calls = stubs.calls();
  return { ...r, calls, steps: calls.map((c) => `${c.tool} ${c.args.slice(0, 2).join(" ")}`) };
}

const STALE =
  /already exists but was not built from this source content \(it lacks the tag s3-0123456789-src-[0-9a-f]{12}\), so this build would deploy old code: with an S3 source, change VERSION \(or re-seed with bin\/lesson 02\); with git, push a new commit or use a new release tag\./;

describe("buildspec.yml: build, or reuse only what this content built", () => {
  it("a new tag: signs in to ECR Public and ECR, builds once with both tags, pushes both, hands over the image", () => {
    const dir = source();
    const stubs = makeStubs();
    const r = build(dir, stubs);
    expect(r.status, r.out).toBe(0);
    const contentTag = `${VERSION}-src-${digestOf(dir)}`;
    expect(r.steps).toEqual([
      "aws ecr describe-images",
      "aws ecr-public get-login-password",
      "docker login --username",
      "aws ecr get-login-password",
      "docker login --username",
      "docker build --build-arg",
      `docker push ${IMAGE_URI}`,
      `docker push ${REPOSITORY_URI}:${contentTag}`,
      "aws cloudformation describe-stacks",
    ]);
    const login = ["login", "--username", "AWS", "--password-stdin"];
    expect(r.calls[2]).toEqual({ tool: "docker", args: [...login, "public.ecr.aws"], stdin: "ecr-public-password" });
    expect(r.calls[3]?.args).toEqual(["ecr", "get-login-password", "--region", "eu-west-1"]);
    expect(r.calls[4]).toEqual({ tool: "docker", args: [...login, REGISTRY], stdin: "ecr-password" });
    const docker = r.calls[5]?.args ?? [];
    expect(docker).toEqual(expect.arrayContaining([`NODE_IMAGE=public.ecr.aws/docker/library/node:24-bookworm-slim`]));
    expect(docker).toEqual(expect.arrayContaining([`APP_VERSION=${VERSION}`]));
    // One image, in ECR under both tags.
    expect(stubs.state().images.map((i) => i.tags)).toEqual([[VERSION, contentTag]]);
    expect(JSON.parse(readFileSync(join(dir, "service-config.json"), "utf8"))).toEqual({
      Parameters: { ImageUri: IMAGE_URI },
      Tags: { "aws-cicd-lab:prefix": "demo" },
    });
  });

  it("a re-run of the same source reuses the image: no sign-in, no build, no push", () => {
    const dir = source();
    const stubs = makeStubs();
    expect(build(dir, stubs).status).toBe(0);
    rmSync(join(dir, "service-config.json"));
    const again = build(dir, stubs);
    expect(again.status, again.out).toBe(0);
    expect(again.steps).toEqual(["aws ecr describe-images", "aws cloudformation describe-stacks"]);
    expect(again.out).toContain(`${IMAGE_URI} already exists, built from this content (${VERSION}-src-`);
    expect(readFileSync(join(dir, "service-config.json"), "utf8")).toContain(IMAGE_URI);
  });

  it("new code with a stale VERSION: fails with one line saying what to do, and builds, pushes and hands over nothing", () => {
    const dir = source();
    const stubs = makeStubs();
    expect(build(dir, stubs).status).toBe(0);
    rmSync(join(dir, "service-config.json"));
    writeFileSync(join(dir, "src/app.ts"), "export const greeting = 'hello!';\n");
    const stale = build(dir, stubs);
    expect(stale.status).not.toBe(0);
    expect(stale.failedPhase).toBe("build");
    expect(stale.steps).toEqual(["aws ecr describe-images"]);
    const lines = stale.out.split("\n").filter((l) => STALE.test(l));
    expect(lines).toEqual([expect.stringMatching(new RegExp(`^${IMAGE_URI.replaceAll(".", "\\.")} already exists`))]);
    expect(existsSync(join(dir, "service-config.json"))).toBe(false);
    expect(stubs.state().images).toHaveLength(1);
  });

  it("an image under the tag without a content tag (pushed by an older build) is not reused", () => {
    const stubs = makeStubs({ images: [{ id: "sha256:old", tags: [VERSION] }] });
    const r = build(source(), stubs);
    expect(r.status).not.toBe(0);
    expect(r.out).toMatch(STALE);
    expect(r.steps).toEqual(["aws ecr describe-images"]);
  });

  it("a new VERSION for the changed code builds and pushes again", () => {
    const dir = source();
    const stubs = makeStubs();
    expect(build(dir, stubs).status).toBe(0);
    writeFileSync(join(dir, "src/app.ts"), "export const greeting = 'hello!';\n");
    writeFileSync(join(dir, "VERSION"), "s3-abcdef0123\n");
    const r = build(dir, stubs);
    expect(r.status, r.out).toBe(0);
    expect(r.steps).toContain(`docker push ${REPOSITORY_URI}:s3-abcdef0123`);
    expect(stubs.state().images.map((i) => i.tags)).toEqual([
      [VERSION, expect.stringMatching(/^s3-0123456789-src-/)],
      ["s3-abcdef0123", `s3-abcdef0123-src-${digestOf(dir)}`],
    ]);
  });

  it("any describe-images error but ImageNotFoundException ends the build, naming it", () => {
    const r = build(source(), makeStubs({ describeDenied: true }));
    expect(r.status).not.toBe(0);
    expect(r.steps).toEqual(["aws ecr describe-images"]);
    expect(r.out).toMatch(
      new RegExp(
        `Cannot tell whether ${IMAGE_URI.replaceAll(".", "\\.")} exists: An error occurred \\(AccessDeniedException\\) when calling the DescribeImages operation`,
      ),
    );
  });

  it("a failed ECR Public sign-in fails the build before anything is built", () => {
    const stubs = makeStubs({ ecrPublicDenied: true });
    const r = build(source(), stubs);
    expect(r.status).not.toBe(0);
    expect(r.steps).toEqual(["aws ecr describe-images", "aws ecr-public get-login-password"]);
    expect(stubs.state().images).toEqual([]);
  });

  it("with the rehearsal's local NODE_IMAGE override: no ECR Public sign-in, the local base in the build", () => {
    const r = build(source(), makeStubs(), { NODE_IMAGE: LOCAL_NODE });
    expect(r.status, r.out).toBe(0);
    expect(r.steps).not.toContain("aws ecr-public get-login-password");
    expect(r.calls.filter((c) => c.args.includes("public.ecr.aws"))).toEqual([]);
    expect(r.out).toContain(`ecr-public-login: ${LOCAL_NODE} is not on ECR Public; not signing in.`);
    expect(r.calls.find((c) => c.args[0] === "build")?.args).toContain(`NODE_IMAGE=${LOCAL_NODE}`);
  });

  it("refuses a VERSION too long for the content tag before calling AWS", () => {
    const r = build(source("v".repeat(112)), makeStubs());
    expect(r.status).toBe(2);
    expect(r.failedPhase).toBe("pre_build");
    expect(r.calls).toEqual([]);
    expect(r.out).toContain("is 112 characters long; an image tag here may have at most 111");
  });
});
