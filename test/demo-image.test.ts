// The demo image: `docker build -t demo .`, then what a learner sees from
// `docker run demo --help` and from `docker run demo` with neither a region
// nor the Docker socket.
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readImages } from "../setup/lib/config.ts";
import { buildImage } from "../setup/lib/local/docker-build.ts";
import { connectDocker } from "../setup/lib/local/docker.ts";

const image = `aws-cicd-lab/demo:test-${Date.now()}`;
const root = join(import.meta.dirname, "..");

async function runImage(cmd: string[], entrypoint?: string[]): Promise<{ code: number; output: string }> {
  const docker = (await connectDocker()).container.dockerode;
  let output = "";
  const sink = new PassThrough();
  sink.on("data", (c: Buffer) => (output += c.toString()));
  const [result, container] = (await docker.run(image, cmd, [sink, sink], {
    Tty: false,
    ...(entrypoint ? { Entrypoint: entrypoint } : {}),
    HostConfig: { AutoRemove: false },
  })) as [{ StatusCode: number }, { remove(o: object): Promise<void> }];
  await container.remove({ force: true });
  return { code: result.StatusCode, output };
}

beforeAll(async () => {
  await buildImage(root, { t: image, buildargs: { NODE_IMAGE: readImages(process.env).node } });
}, 600_000);

afterAll(async () => {
  const docker = (await connectDocker()).container.dockerode;
  await docker
    .getImage(image)
    .remove({ force: true })
    .catch(() => undefined);
});

describe("the demo image", () => {
  it("prints the walk-through's help with --help", async () => {
    const { code, output } = await runImage(["--help"]);
    expect(code).toBe(0);
    expect(output).toMatch(/Usage: bin\/run[\s\S]*--target aws\|local[\s\S]*bin\/teardown/);
  });

  it("without a region or the Docker socket, explains both ways to start it in three lines, exit 2", async () => {
    const { code, output } = await runImage([]);
    expect(code).toBe(2);
    const lines = output.trim().split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(/AWS: +docker run -it -e REGION=eu-west-1 .* demo/);
    expect(lines[2]).toMatch(/local: +docker run -it --network host -v \/var\/run\/docker\.sock/);
  });

  it("rehearses locally with the Docker socket and the host's network, and cleans up after itself", async () => {
    const docker = (await connectDocker()).container.dockerode;
    const socketGroup = String((await import("node:fs")).statSync("/var/run/docker.sock").gid);
    let output = "";
    const sink = new PassThrough();
    sink.on("data", (c: Buffer) => (output += c.toString()));
    const images = readImages(process.env);
    // Up to step 04: what this tests is the image (the Docker socket, the host's network, cleaning up);
    // the later steps are the walk-through test's.
    const args = ["--prefix", "lab-demo", "--until", "04"];
    const [result, container] = (await docker.run(image, args, [sink, sink], {
      Tty: false,
      Env: [`LAB_MOTO_IMAGE=${images.moto}`, `LAB_NODE_IMAGE=${images.node}`, "CI=true"],
      HostConfig: {
        NetworkMode: "host",
        Binds: ["/var/run/docker.sock:/var/run/docker.sock"],
        GroupAdd: [socketGroup],
      },
    })) as [{ StatusCode: number }, { remove(o: object): Promise<void> }];
    await container.remove({ force: true });
    expect(result.StatusCode, output).toBe(0);
    expect(output).toMatch(/answers as version s3-[0-9a-f]{10}/);
    expect(output).toContain("rehearsal removed");
  }, 300_000);

  it("dispatches `teardown` to bin/teardown", async () => {
    const { code, output } = await runImage(["teardown", "--help"]);
    expect(code).toBe(0);
    expect(output).toMatch(/Usage: bin\/teardown[\s\S]*--dry-run/);
  });

  it("runs as an unprivileged user and holds no credentials or secrets", async () => {
    const { output } = await runImage(["-c", "id -u; ls -a /home/lab; env"], ["sh"]);
    const [uid] = output.trim().split("\n");
    expect(Number(uid)).toBeGreaterThan(0);
    expect(output).not.toMatch(/AWS_SECRET_ACCESS_KEY|JWT_SECRET|\.aws\b/);
  });
});
