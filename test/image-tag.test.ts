// The image tag rule of code/scripts/image-tag.sh, on real git repositories.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const script = join(import.meta.dirname, "..", "code", "scripts", "image-tag.sh");

function tagIn(dir: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync("sh", [script], { cwd: dir, encoding: "utf8", env: { PATH: process.env.PATH ?? "", HOME: dir } });
  return { status: r.status, stdout: r.stdout.trim(), stderr: r.stderr.trim() };
}

function repo(): { dir: string; git: (...args: string[]) => string; commit: (msg: string) => string } {
  const dir = mkdtempSync(join(tmpdir(), "lab-tag-"));
  const git = (...args: string[]) =>
    execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], {
      cwd: dir,
      encoding: "utf8",
      env: { PATH: process.env.PATH ?? "", HOME: dir },
    }).trim();
  git("init", "-q", "-b", "main");
  const commit = (msg: string) => {
    writeFileSync(join(dir, "file.txt"), msg);
    git("add", ".");
    git("commit", "-q", "-m", msg);
    return git("rev-parse", "HEAD");
  };
  return { dir, git, commit };
}

describe("image tag rule", () => {
  it("uses the first 10 characters of the commit id for an untagged commit", () => {
    const r = repo();
    const id = r.commit("one");
    expect(tagIn(r.dir)).toMatchObject({ status: 0, stdout: id.slice(0, 10) });
  });

  it("uses X.Y.Z for a vX.Y.Z tag on the built commit", () => {
    const r = repo();
    r.commit("one");
    r.git("tag", "v1.2.3");
    expect(tagIn(r.dir)).toMatchObject({ status: 0, stdout: "1.2.3" });
  });

  it("takes the highest release when several point at the commit, comparing numbers", () => {
    const r = repo();
    r.commit("one");
    r.git("tag", "-a", "v1.9.0", "-m", "annotated");
    r.git("tag", "v1.10.0");
    expect(tagIn(r.dir).stdout).toBe("1.10.0");
  });

  it("ignores tags that are not vX.Y.Z and tags on other commits", () => {
    const r = repo();
    r.commit("one");
    r.git("tag", "v2.0.0");
    const id = r.commit("two");
    r.git("tag", "release-candidate");
    r.git("tag", "v2.1");
    expect(tagIn(r.dir).stdout).toBe(id.slice(0, 10));
  });

  it("fetches the release tags from origin when the clone came without them (a pipeline's clone)", () => {
    const origin = repo();
    origin.commit("one");
    origin.git("tag", "v1.4.0");
    const clone = mkdtempSync(join(tmpdir(), "lab-clone-"));
    execFileSync("git", ["clone", "-q", "--no-tags", origin.dir, clone], { env: { PATH: process.env.PATH ?? "" } });
    expect(execFileSync("git", ["tag"], { cwd: clone, encoding: "utf8" })).toBe("");
    expect(tagIn(clone)).toMatchObject({ status: 0, stdout: "1.4.0", stderr: "" });
  });

  it("goes on with the clone's own tags, saying why, when origin cannot be reached", () => {
    const r = repo();
    r.commit("one");
    r.git("tag", "v3.0.0");
    r.git("remote", "add", "origin", join(r.dir, "no-such-repository"));
    const t = tagIn(r.dir);
    expect(t).toMatchObject({ status: 0, stdout: "3.0.0" });
    expect(t.stderr).toMatch(
      /^image-tag: could not fetch the tags from origin \(.+\); going on with this clone's tags\.$/s,
    );
  });

  it("uses the VERSION file of an S3 source zip, which has no git metadata", () => {
    const dir = mkdtempSync(join(tmpdir(), "lab-zip-"));
    writeFileSync(join(dir, "VERSION"), "s3-7f3a9c01e2\n");
    expect(tagIn(dir)).toMatchObject({ status: 0, stdout: "s3-7f3a9c01e2" });
  });

  it("refuses a VERSION that is not a valid image tag", () => {
    const dir = mkdtempSync(join(tmpdir(), "lab-zip-"));
    writeFileSync(join(dir, "VERSION"), "not/a:tag");
    const r = tagIn(dir);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/VERSION holds "not\/a:tag"/);
  });

  it("refuses a VERSION too long to leave room for the content tag (<tag>-src-<12 hex>, within ECR's 128)", () => {
    const dir = mkdtempSync(join(tmpdir(), "lab-zip-"));
    writeFileSync(join(dir, "VERSION"), `${"a".repeat(111)}\n`);
    expect(tagIn(dir)).toMatchObject({ status: 0, stdout: "a".repeat(111) });
    writeFileSync(join(dir, "VERSION"), `${"a".repeat(112)}\n`);
    const r = tagIn(dir);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(
      /^image-tag: The tag in VERSION \("a{112}"\) is 112 characters long; an image tag here may have at most 111, so that the content tag <tag>-src-<12 hex> stays within ECR's 128\. Use a shorter one\.$/,
    );
  });

  it("refuses a release tag too long for the content tag", () => {
    const r = repo();
    r.commit("one");
    const release = `1.2.${"9".repeat(108)}`;
    r.git("tag", `v${release}`);
    const t = tagIn(r.dir);
    expect(t.status).toBe(2);
    expect(t.stderr).toContain(`The release tag v${release} is 112 characters long`);
  });

  it("fails with a clear message when there is neither git metadata nor VERSION", () => {
    const r = tagIn(mkdtempSync(join(tmpdir(), "lab-empty-")));
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/no git metadata and no VERSION file/);
  });
});
