// code/scripts/ecr-public-login.sh and its place in buildspec-test.yml, with the
// AWS and Docker CLIs stubbed (test/build-scripts-stubs.ts): the builds sign in
// to ECR Public before pulling the Node base from it, and only then.
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CODE, makeStubs, runBuildspec, type StubState } from "./build-scripts-stubs.ts";

const script = join(CODE, "scripts", "ecr-public-login.sh");
const PUBLIC_NODE = "public.ecr.aws/docker/library/node:24-bookworm-slim";

function login(image: string, state: Partial<StubState> = {}) {
  const stubs = makeStubs(state);
  const r = spawnSync("sh", [script, image], { encoding: "utf8", env: stubs.env });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, calls: stubs.calls() };
}

describe("ecr-public-login.sh", () => {
  it("signs in to public.ecr.aws with a token from us-east-1 for an ECR Public image", () => {
    const r = login(PUBLIC_NODE);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.calls).toEqual([
      { tool: "aws", args: ["ecr-public", "get-login-password", "--region", "us-east-1"] },
      {
        tool: "docker",
        args: ["login", "--username", "AWS", "--password-stdin", "public.ecr.aws"],
        stdin: "ecr-public-password",
      },
    ]);
    expect(r.stdout).toContain(`signed in to ECR Public for ${PUBLIC_NODE}`);
  });

  it("does nothing for an image from anywhere else", () => {
    for (const image of [
      "node:24-bookworm-slim",
      "aws-cicd-lab/node:24-bookworm-slim",
      "123456789012.dkr.ecr.eu-west-1.amazonaws.com/node:24",
      "public.ecr.aws.example.com/node:24",
    ]) {
      const r = login(image);
      expect(r.status, image).toBe(0);
      expect(r.calls, image).toEqual([]);
      expect(r.stdout, image).toBe(`ecr-public-login: ${image} is not on ECR Public; not signing in.\n`);
    }
  });

  it("fails, without trying docker login, when no token can be had", () => {
    const r = login(PUBLIC_NODE, { ecrPublicDenied: true });
    expect(r.status).toBe(1);
    expect(r.calls.map((c) => c.tool)).toEqual(["aws"]);
    expect(r.stderr).toContain("not authorized to perform: ecr-public:GetAuthorizationToken");
    expect(r.stderr).toContain(
      `ecr-public-login: could not get an ECR Public token for ${PUBLIC_NODE} (see above); the build's role needs ecr-public:GetAuthorizationToken and sts:GetServiceBearerToken.`,
    );
  });

  it("fails when docker login is refused", () => {
    const r = login(PUBLIC_NODE, { dockerLoginFails: true });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("ecr-public-login: docker login to public.ecr.aws failed");
  });
});

describe("buildspec-test.yml signs in before the checks pull the base image", () => {
  function checks(state: Partial<StubState> = {}, env: Record<string, string> = {}) {
    const dir = mkdtempSync(join(tmpdir(), "lab-checks-"));
    cpSync(join(CODE, "scripts"), join(dir, "scripts"), { recursive: true });
    const stubs = makeStubs(state);
    const r = runBuildspec("buildspec-test.yml", dir, { ...stubs.env, ...env });
    return { ...r, dir, calls: stubs.calls() };
  }
  const step = (c: { tool: string; args: string[] }) => `${c.tool} ${c.args.slice(0, 2).join(" ")}`;

  it("with ECR Public's Node: signs in, then builds the test stage", () => {
    const r = checks();
    expect(r.status, r.out).toBe(0);
    expect(r.calls.map(step)).toEqual([
      "aws ecr-public get-login-password",
      "docker login --username",
      "docker build --target",
      "docker create lab-app-checks",
      "docker cp container-1:/app/reports/.",
      "docker rm container-1",
    ]);
    expect(r.calls[2]?.args).toContain(`NODE_IMAGE=${PUBLIC_NODE}`);
    expect(existsSync(join(r.dir, "reports", "junit.xml"))).toBe(true);
  });

  it("with another base image (the rehearsal's override): builds without signing in", () => {
    const r = checks({}, { NODE_IMAGE: "aws-cicd-lab/node:24-bookworm-slim" });
    expect(r.status, r.out).toBe(0);
    expect(r.calls.map(step)[0]).toBe("docker build --target");
    expect(r.calls.some((c) => c.args.includes("public.ecr.aws") || c.args[0] === "ecr-public")).toBe(false);
  });

  it("fails the build in pre_build when the sign-in fails, before anything is built", () => {
    const r = checks({ ecrPublicDenied: true });
    expect(r.status).not.toBe(0);
    expect(r.failedPhase).toBe("pre_build");
    expect(r.calls.map(step)).toEqual(["aws ecr-public get-login-password"]);
  });
});
