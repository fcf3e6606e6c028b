// The app's image, built from its Dockerfile and run as a container published
// on 127.0.0.1. (The pipeline's checks and build, buildspecs included, are
// tested through the build stand-in in test/local-pipeline.test.ts.)
//
// The image is built through the Docker engine API (setup/lib/local/docker-build.ts), not testcontainers' own
// Dockerfile builder: that builder cannot use the host's network (npm inside
// the build needs it to reach the registry here) and reports a failed build
// only as "Failed to build image". testcontainers runs the result.
import { join } from "node:path";
import { Wait } from "testcontainers";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { readImages } from "../setup/lib/config.ts";
import { buildImage } from "../setup/lib/local/engine/build.ts";
import { type RunningContainer, startContainer } from "../setup/lib/local/engine/containers.ts";
import { connectDocker } from "../setup/lib/local/engine/client.ts";

const codeDir = join(import.meta.dirname, "..", "code");
const version = `test-${Date.now()}`;
const image = `lab-app:${version}`;
let app: RunningContainer;

beforeAll(async () => {
  await buildImage(codeDir, {
    t: image,
    buildargs: { NODE_IMAGE: readImages(process.env).node, APP_VERSION: version },
  });
  app = await startContainer({
    image,
    port: 8080,
    runId: inject("labRunId"),
    env: { JWT_SECRET: "container-test-secret-with-more-than-32-characters" },
    wait: Wait.forHttp("/health", 8080).forStatusCode(200),
  });
}, 600_000);

afterAll(async () => {
  await app?.stop();
  const docker = await connectDocker();
  await docker.container.dockerode
    .getImage(image)
    .remove()
    .catch(() => undefined);
});

describe("the app image", () => {
  it("answers /health and reports the version it was built as", async () => {
    expect(await (await fetch(`${app.url}/health`)).json()).toEqual({ status: "ok" });
    expect(await (await fetch(`${app.url}/`)).json()).toMatchObject({ service: "lab-app", version });
  });

  it("answers /time with the message and whole seconds", async () => {
    const body = (await (await fetch(`${app.url}/time`)).json()) as { message: string; timestamp: number };
    expect(body.message).toBe("Automation for the People");
    expect(Number.isInteger(body.timestamp)).toBe(true);
  });

  it("completes the auth round trip", async () => {
    const auth = await fetch(`${app.url}/auth`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "learner@example.com", password: "pw" }),
    });
    const { token } = (await auth.json()) as { token: string };
    const contents = await fetch(`${app.url}/contents`, { headers: { authorization: `Bearer ${token}` } });
    expect(contents.status).toBe(200);
    expect(await contents.json()).toMatchObject({ email: "learner@example.com" });
  });

  it("runs the app as a user other than root", async () => {
    const { output, exitCode } = await app.started.exec(["id", "-u"]);
    expect(exitCode).toBe(0);
    expect(Number(output.trim())).toBeGreaterThan(0);
    const docker = await connectDocker();
    const top = (await docker.container.dockerode.getContainer(app.id).top({ ps_args: "-o pid,user,args" })) as {
      Processes: string[][];
    };
    const nodeProcess = top.Processes.find((p) => p.join(" ").includes("src/server.ts"));
    expect(nodeProcess).toBeDefined();
    expect(nodeProcess?.[1]).not.toBe("root");
  });

  it("ends on SIGTERM within 10 s with exit code 0", async () => {
    const docker = (await connectDocker()).container.dockerode;
    const container = docker.getContainer(app.id);
    const started = performance.now();
    await container.stop({ t: 10 });
    const seconds = (performance.now() - started) / 1000;
    const state = (await container.inspect()).State;
    expect(state.ExitCode).toBe(0); // 137 would mean Docker had to SIGKILL it
    expect(seconds).toBeLessThan(10);
  });
});
