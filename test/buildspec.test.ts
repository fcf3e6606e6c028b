// The buildspecs' shape and that everything they call or hand over exists.
// They also run, unchanged, in the rehearsal's build stand-in
// (test/local-pipeline.test.ts and every local walk-through).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const code = join(import.meta.dirname, "..", "code");

interface Buildspec {
  version: number | string;
  env: { variables: Record<string, string>; "exported-variables": string[] };
  phases: Record<string, { commands: string[] }>;
  reports?: Record<string, { "base-directory": string; files: string[]; "file-format": string }>;
  artifacts: { files: string[] };
}

const spec = parse(readFileSync(join(code, "buildspec.yml"), "utf8")) as Buildspec;
const testSpec = parse(readFileSync(join(code, "buildspec-test.yml"), "utf8")) as Buildspec;
const commands = Object.values(spec.phases).flatMap((p) => p.commands);

describe("code/buildspec.yml", () => {
  it("is a version 0.2 buildspec that builds on Node 24 through ECR Public", () => {
    expect(String(spec.version)).toBe("0.2");
    expect(spec.env.variables.NODE_IMAGE).toMatch(/node:24-bookworm-slim$/);
  });

  it("calls only scripts that exist in code/scripts", () => {
    const scripts = commands.join("\n").match(/scripts\/[\w.-]+/g) ?? [];
    expect(scripts).toEqual(
      expect.arrayContaining([
        "scripts/image-tag.sh",
        "scripts/source-digest.sh",
        "scripts/ecr-public-login.sh",
        "scripts/wait-for-stack.sh",
      ]),
    );
    for (const script of scripts) expect(existsSync(join(code, script)), script).toBe(true);
  });

  it("tags with the rule script and the content digest, builds with APP_VERSION, pushes the two tags and never latest", () => {
    const pre = spec.phases.pre_build?.commands ?? [];
    expect(pre).toContain('IMAGE_TAG="$(sh scripts/image-tag.sh)"');
    // The content tag is computed before anything is built or written into the tree.
    expect(pre).toContain('CONTENT_TAG="${IMAGE_TAG}-src-$(sh scripts/source-digest.sh)"');
    const all = commands.join("\n");
    expect(all).toContain('--build-arg APP_VERSION="$IMAGE_TAG"');
    expect(all).toContain('-t "$IMAGE_URI" -t "${REPOSITORY_URI}:${CONTENT_TAG}"');
    expect(all.match(/docker push \S+/g)).toEqual([
      'docker push "$IMAGE_URI"',
      'docker push "${REPOSITORY_URI}:${CONTENT_TAG}"',
    ]);
    expect(all).not.toMatch(/:latest\b/);
  });

  it("does not run the checks: LintAndUnitTests runs them beside this build", () => {
    expect(commands.join("\n")).not.toContain("run-checks");
    expect(spec.reports).toBeUndefined();
  });

  it("hands the Deploy stage the service template and a parameters file with the image URI", () => {
    expect(spec.artifacts.files).toEqual(["infra/service.yaml", "service-config.json"]);
    expect(commands.join("\n")).toMatch(
      /"ImageUri":"%s".*"aws-cicd-lab:prefix":"%s".*"\$IMAGE_URI" "\$PREFIX" > service-config\.json/,
    );
  });

  it("waits for the environment stack before handing over to Deploy", () => {
    const wait = commands.indexOf('sh scripts/wait-for-stack.sh "$ENVIRONMENT_STACK"');
    const handOver = commands.findIndex((c) => c.includes("service-config.json"));
    expect(wait).toBeGreaterThanOrEqual(0);
    expect(wait).toBeLessThan(handOver);
  });
});

describe("code/buildspec-test.yml", () => {
  it("runs the checks script on the same Node and publishes the JUnit report it copies out", () => {
    expect(testSpec.phases.build?.commands).toEqual(["sh scripts/run-checks.sh reports"]);
    expect(Object.values(testSpec.reports ?? {})).toEqual([
      { "base-directory": "reports", files: ["junit.xml"], "file-format": "JUNITXML" },
    ]);
    expect(testSpec.env.variables.NODE_IMAGE).toBe(spec.env.variables.NODE_IMAGE);
  });

  it("signs in to ECR Public first, as pre_build, so a failed sign-in ends the build before the checks", () => {
    expect(testSpec.phases.pre_build?.commands).toEqual(['sh scripts/ecr-public-login.sh "$NODE_IMAGE"']);
  });
});

describe("the ECR Public sign-in in both buildspecs", () => {
  it("names the actions it calls in the annotation the IAM proof reads, in the same list item", () => {
    for (const file of ["buildspec.yml", "buildspec-test.yml"]) {
      const lines = readFileSync(join(code, file), "utf8").split("\n");
      const at = lines.findIndex((l) => l.includes("sh scripts/ecr-public-login.sh"));
      expect(at, file).toBeGreaterThan(0);
      // The annotation sits in the comments right above the list item that runs the script.
      let item = at;
      while (!/^\s*- /.test(lines[item] ?? "")) item -= 1;
      const above: string[] = [];
      for (let i = item - 1; i >= 0 && /^\s*#/.test(lines[i] ?? ""); i -= 1) above.push(lines[i] as string);
      const annotation = above.find((l) => /#\s*AWS calls:/.test(l)) ?? "";
      expect(annotation, file).toMatch(/\becr-public:GetAuthorizationToken\b/);
      expect(annotation, file).toMatch(/\bsts:GetServiceBearerToken\b/);
    }
  });

  it("is the only place that signs in to ECR Public, and never with a region but us-east-1", () => {
    const script = readFileSync(join(code, "scripts", "ecr-public-login.sh"), "utf8");
    expect(script).toMatch(/aws ecr-public get-login-password --region us-east-1\)/);
    for (const file of ["buildspec.yml", "buildspec-test.yml"]) {
      expect(readFileSync(join(code, file), "utf8"), file).not.toMatch(/aws ecr-public/);
    }
  });
});
