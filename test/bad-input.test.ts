// bin/run and bin/teardown as a learner runs them: each kind of bad input or
// missing prerequisite gives one clear message with what to do next, the
// right exit code, and no stack trace. Nothing here reaches any address but
// 127.0.0.1: the AWS cases fail before a request is sent.
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..");
const STACK_TRACE = /^\s+at \S+ \(/m;

/** An environment with no AWS credentials, profile or emulator, and no instance metadata lookups. */
function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const home = mkdtempSync(join(tmpdir(), "lab-home-"));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    CI: "true",
    NO_COLOR: "1",
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_CONFIG_FILE: join(home, "no-config"),
    AWS_SHARED_CREDENTIALS_FILE: join(home, "no-credentials"),
    LAB_MOTO_IMAGE: process.env.LAB_MOTO_IMAGE,
    LAB_NODE_IMAGE: process.env.LAB_NODE_IMAGE,
    ...extra,
  };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  return env;
}

/** Runs a bin/ command; a refusal takes seconds, a whole walk-through up to `timeout`. */
function bin(
  name: "run" | "teardown" | "lesson",
  args: string[],
  env: NodeJS.ProcessEnv = cleanEnv(),
  timeout = 60_000,
) {
  const r = spawnSync(process.execPath, [join(root, "bin", name), ...args], { env, encoding: "utf8", timeout });
  const killed = r.signal ? `\n[killed by ${r.signal}${r.error ? `: ${r.error.message}` : ""}]` : "";
  return { status: r.status, out: `${r.stdout}${r.stderr}${killed}` };
}

describe("a Node without TypeScript type stripping (older than 22.18)", () => {
  // This Node with type stripping turned off stands in for an old one: the launcher must not need it.
  it.each(["run", "teardown", "lesson", "demo", "doctor", "images"])(
    "bin/%s says in one sentence what it needs and how to get it, exit 2",
    (name) => {
      const r = spawnSync(process.execPath, ["--no-experimental-strip-types", join(root, "bin", name), "--help"], {
        env: cleanEnv(),
        encoding: "utf8",
        timeout: 30_000,
      });
      expect(r.status).toBe(2);
      const lines = r.stderr.trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        /^aws-cicd-lab needs Node\.js 22\.18 or newer .*bash \.ci\/provision && source \.ci\/env/,
      );
      expect(r.stdout).toBe("");
    },
  );
});

describe("billable work on AWS without a confirmation", () => {
  // No terminal and no --yes: refused before any credentials are looked for.
  it.each([
    ["run", ["--region", "eu-west-1"]],
    ["lesson", ["03", "--region", "eu-west-1"]],
  ] as const)("bin/%s %s is refused with exit 2", (name, args) => {
    const { status, out } = bin(name, [...args]);
    expect(status).toBe(2);
    expect(out).toMatch(/cost money, and there is no terminal[\s\S]*add --yes/);
    expect(out).not.toMatch(/credentials/i);
    expect(out).not.toMatch(STACK_TRACE);
  });

  it("lets bin/lesson --check look without --yes (checks only read)", () => {
    const { out } = bin("lesson", ["03", "--check", "--region", "eu-west-1"]);
    expect(out).not.toMatch(/no terminal/);
    expect(out).toMatch(/No AWS credentials were found/);
  });
});

describe("bad input", () => {
  it.each([
    [["--prefix", "Demo"], /--prefix "Demo" cannot be used[\s\S]*2 to 20 characters/],
    [["--prefix", "a-very-long-prefix-that-breaks-names"], /cannot be used/],
    [["--target", "aws"], /--target aws needs a region[\s\S]*--region eu-west-1/],
    [["--target", "cloud"], /--target cloud is not a target/],
    [["--source", "git"], /--source git is not a source/],
    [["--source", "codecommit"], /cannot be rehearsed locally: the emulator cannot store commits/],
    [["--from", "09"], /--from 09 is not a step/],
    [["--from", "04", "--until", "02"], /comes after/],
    [["--frob"], /Unknown option '--frob'[\s\S]*--help/],
    [["--region", "eu-westt"], /"eu-westt" is not an AWS region name/],
  ])("bin/run %j exits 2 with a message and what to do", (args, message) => {
    const { status, out } = bin("run", args);
    expect(status).toBe(2);
    expect(out).toMatch(message);
    expect(out).toMatch(/What to do: /);
    expect(out).not.toMatch(STACK_TRACE);
  });

  it("AWS without credentials: exit 2, says how to configure them", () => {
    const { status, out } = bin("run", ["--region", "eu-west-1", "--yes"]);
    expect(status).toBe(2);
    expect(out).toMatch(/No AWS credentials were found[\s\S]*aws configure/);
    expect(out).not.toMatch(STACK_TRACE);
  });

  it("AWS with an expired SSO session: exit 2, says to sign in again", () => {
    const env = cleanEnv({ AWS_PROFILE: "workshop" });
    const home = env.HOME as string;
    mkdirSync(join(home, ".aws", "sso", "cache"), { recursive: true });
    writeFileSync(
      join(home, ".aws", "config"),
      "[profile workshop]\nsso_session = lab\nsso_account_id = 123456789012\nsso_role_name = Admin\nregion = eu-west-1\n[sso-session lab]\nsso_start_url = https://example.awsapps.com/start\nsso_region = eu-west-1\n",
    );
    env.AWS_CONFIG_FILE = join(home, ".aws", "config");
    // The SDK's token cache: the file name is the SHA-1 of the session name; this token expired long ago.
    writeFileSync(
      join(home, ".aws", "sso", "cache", `${createHash("sha1").update("lab").digest("hex")}.json`),
      JSON.stringify({
        accessToken: "x",
        expiresAt: "2020-01-01T00:00:00Z",
        region: "eu-west-1",
        startUrl: "https://example.awsapps.com/start",
      }),
    );
    const { status, out } = bin("run", ["--region", "eu-west-1", "--yes"], env);
    expect(status).toBe(2);
    expect(out).toMatch(/SSO session has expired[\s\S]*aws sso login --profile workshop/);
    expect(out).not.toMatch(STACK_TRACE);
  });

  it("AWS_ENDPOINT_URL with --target aws: exit 2 (never send a real account's calls to an emulator or back)", () => {
    const { status, out } = bin("run", ["--region", "eu-west-1"], cleanEnv({ AWS_ENDPOINT_URL: "http://127.0.0.1:1" }));
    expect(status).toBe(2);
    expect(out).toMatch(/AWS_ENDPOINT_URL is set/);
  });

  it("an emulator that does not answer: exit 2, names AWS_ENDPOINT_URL", () => {
    const { status, out } = bin("run", [], cleanEnv({ AWS_ENDPOINT_URL: "http://127.0.0.1:1" }));
    expect(status).toBe(2);
    expect(out).toMatch(/The emulator at http:\/\/127\.0\.0\.1:1 \(AWS_ENDPOINT_URL\) does not answer/);
    expect(out).not.toMatch(STACK_TRACE);
  });

  it("--help: exit 0 with the flags", () => {
    const { status, out } = bin("run", ["--help"]);
    expect(status).toBe(0);
    expect(out).toMatch(/--target aws\|local[\s\S]*--keep/);
    expect(bin("teardown", ["--help"]).out).toMatch(/--dry-run/);
  });
});

describe("a teardown aimed elsewhere than the run", () => {
  it("says where this machine recorded the run and the command that reaches it (exit 2), never 'nothing to tear down'", () => {
    const env = cleanEnv();
    const runs = join(env.HOME!, ".aws-cicd-lab", "runs");
    mkdirSync(runs, { recursive: true });
    const record = { prefix: "lab-away", target: "aws", region: "eu-west-1", account: "111122223333" };
    const file = join(runs, "lab-away@aws-111122223333-eu-west-1.json");
    writeFileSync(file, JSON.stringify({ ...record, since: "2026-11-29T10:00:00.000Z" }));

    const r = bin("teardown", ["--prefix", "lab-away", "--target", "local"], env);
    expect(r.status, r.out).toBe(2);
    expect(r.out).toContain(
      "Nothing of prefix lab-away is in the local rehearsal, but this machine recorded a run of prefix lab-away elsewhere:",
    );
    expect(r.out).toContain(
      "AWS account 111122223333 in eu-west-1 (since 2026-11-29 10:00 UTC): bin/teardown --region eu-west-1 --prefix lab-away",
    );
    expect(r.out).not.toContain("nothing to tear down");
    expect(r.out).not.toMatch(STACK_TRACE);

    // In the demo image the command is the image's own.
    const inImage = bin("teardown", ["--prefix", "lab-away", "--target", "local"], { ...env, LAB_DEMO_IMAGE: "1" });
    expect(inImage.out).toContain(": teardown --region eu-west-1 --prefix lab-away");

    // Once that run is torn down (its record gone), there is nothing to say but that.
    rmSync(file);
    const after = bin("teardown", ["--prefix", "lab-away", "--target", "local"], env);
    expect(after.status, after.out).toBe(0);
    expect(after.out).toContain("nothing to tear down for prefix lab-away");
  });
});

const canHideDocker = process.getuid?.() === 0 && spawnSync("unshare", ["--version"]).status === 0;

describe.skipIf(!canHideDocker)("local target without Docker (needs root and unshare to hide the engine)", () => {
  it("exit 2, says what to install", () => {
    const r = spawnSync(
      "unshare",
      ["--mount", "sh", "-c", `mount -t tmpfs tmpfs /run && exec "${process.execPath}" bin/run`],
      { cwd: root, env: cleanEnv(), encoding: "utf8", timeout: 60_000 },
    );
    expect(r.status).toBe(2);
    expect(`${r.stdout}${r.stderr}`).toMatch(/Docker is not available[\s\S]*Install Docker/);
  });
});

describe("Ctrl-C", () => {
  it("mid-step stops with exit 130 and says a re-run carries on; the re-run and teardown then finish", async () => {
    const env = cleanEnv({ LAB_MOTO_IMAGE: process.env.LAB_MOTO_IMAGE, LAB_NODE_IMAGE: process.env.LAB_NODE_IMAGE });
    // Up to step 05: what is tested is the interruption and the re-run, not the later lessons' releases.
    const child = spawn(
      process.execPath,
      [join(root, "bin", "run"), "--prefix", "lab-sigint", "--keep", "--until", "05"],
      {
        env,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    const sent = new Promise<void>((resolve) => {
      const onData = (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes("Step 02") && !child.killed) {
          child.kill("SIGINT"); // once: a second Ctrl-C means "stop at once"
          resolve();
        }
      };
      child.stdout.on("data", onData);
      child.stderr.on("data", onData);
    });
    await sent;
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(code).toBe(130);
    expect(out).toMatch(/Interrupted\.[\s\S]*run the same command again/);

    // The walk-through from step 02 to 05: ~15 s on an idle machine, far longer on a busy one.
    const again = bin("run", ["--prefix", "lab-sigint", "--keep", "--until", "05"], env, 170_000);
    expect(again.status, again.out).toBe(0);
    expect(again.out).toContain("carrying on with it");
    const down = bin("teardown", ["--prefix", "lab-sigint", "--target", "local"], env);
    expect(down.status, down.out).toBe(0);
    expect(down.out).toMatch(/nothing tagged lab-sigint is left/);
  }, 300_000);
});
