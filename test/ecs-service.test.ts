// The ECS service stand-in (setup/lib/local/ecs/service.ts) with real
// containers behind the real HAProxy stand-in: tasks from a task definition,
// ECS's rolling deployment, and the circuit breaker with rollback. The task
// image is a few lines of Node whose behaviour the task definition's
// environment picks (MODE), so a "release" is a change of the definition.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readImages } from "../setup/lib/config.ts";
import { StepError } from "../setup/lib/errors.ts";
import { buildImage } from "../setup/lib/local/engine/build.ts";
import { connectDocker, removeContainers } from "../setup/lib/local/engine/client.ts";
import { circuitBreakerThreshold, listTasks, rollOutService, taskName } from "../setup/lib/local/ecs/service.ts";
import {
  describeTargetHealth,
  ensureLoadBalancer,
  type LoadBalancer,
  removeTaskNetwork,
  runtimeApi,
} from "../setup/lib/local/elbv2/load-balancer.ts";
import { findRehearsal } from "../setup/lib/local/engine/rehearsal.ts";
import type { ServiceDefinition } from "../setup/lib/local/ecs/definition.ts";
import { probe } from "../setup/lib/probe.ts";
import { watchTraffic } from "../setup/lib/traffic.ts";
import { serviceTargetGroup } from "./support/service-template.ts";

const PREFIX = "ecs-test";
const IMAGE = "aws-cicd-lab-test/task:1";
const images = readImages(process.env);
const SECRET = "s".repeat(40);

const SERVER = `
const http = require("node:http");
const mode = process.env.MODE;
if (mode === "exit") { console.error("cannot start: FEATURE_FLAG is not set"); process.exit(3); }
const server = http.createServer((req, res) => {
  if (req.url === "/health") { res.statusCode = mode === "unhealthy" ? 503 : 200; return res.end(); }
  res.end(JSON.stringify({ mode, version: process.env.VERSION, secretLength: (process.env.JWT_SECRET ?? "").length,
    uid: process.getuid() }));
});
server.listen(8080);
process.on("SIGTERM", () => { server.close(() => process.exit(0)); server.closeIdleConnections(); });
`;

function definition(
  environment: Record<string, string>,
  deployment: { minimumHealthyPercent: number; maximumPercent: number } = {
    minimumHealthyPercent: 100,
    maximumPercent: 200,
  },
): ServiceDefinition {
  return {
    serviceName: `${PREFIX}-app`,
    taskDefinition: `${PREFIX}-app`,
    desiredCount: 2,
    memoryMiB: 512,
    ...deployment,
    healthCheckGracePeriodSeconds: 10,
    circuitBreaker: { enable: true, rollback: true },
    strategy: { kind: "ROLLING" },
    container: {
      name: "app",
      image: IMAGE,
      port: 8080,
      environment,
      secrets: { JWT_SECRET: "arn:aws:secretsmanager:us-east-1:123456789012:secret:JwtSecret-abc" },
      readonlyRootFilesystem: true,
      stopTimeoutSeconds: 15,
    },
    targetGroup: serviceTargetGroup(PREFIX),
    targetGroupArn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/1",
    listener: {
      defaultResponse: { status: 503, contentType: "application/json", body: "{}" },
      forwardPaths: ["/*"],
    },
  };
}

let lb: LoadBalancer;
const events: string[] = [];

const rollOut = (service: ServiceDefinition, signal?: AbortSignal, onEvent?: (e: string) => void) =>
  rollOutService({
    prefix: PREFIX,
    service,
    secretValues: { JWT_SECRET: SECRET },
    network: lb.network,
    speedup: 10,
    memoryMiB: service.memoryMiB,
    lb,
    say: (e) => {
      events.push(e);
      onEvent?.(e);
    },
    ...(signal ? { signal } : {}),
  });

async function cleanUp(): Promise<void> {
  await removeContainers((await findRehearsal(PREFIX)).map((c) => c.id));
  await removeTaskNetwork(PREFIX);
}

beforeAll(async () => {
  await cleanUp();
  const dir = await mkdtemp(join(tmpdir(), "ecs-test-"));
  await writeFile(join(dir, "server.js"), SERVER);
  await writeFile(
    join(dir, "Dockerfile"),
    'ARG BASE\nFROM ${BASE}\nCOPY server.js /srv/server.js\nUSER node\nCMD ["node", "/srv/server.js"]\n',
  );
  await buildImage(dir, { t: IMAGE, buildargs: { BASE: images.node } });
  await rm(dir, { recursive: true, force: true });
  const service = definition({ MODE: "good", VERSION: "1" });
  lb = await ensureLoadBalancer({
    prefix: PREFIX,
    image: images.proxy,
    listener: service.listener,
    targetGroup: service.targetGroup,
    speedup: 10,
  });
}, 120_000);
afterAll(cleanUp, 60_000);

/** The tasks an ECS event names: "(task 0123456789ab)". */
const taskIds = (event: string): string[] => [...event.matchAll(/\(task ([0-9a-f]{12})\)/g)].map((m) => m[1] ?? "");

/**
 * Until one of these tasks' targets has passed a health check without being healthy yet: HAProxy
 * shows a server going up as "DOWN n/rise" until `rise` checks in a row have passed.
 */
async function checksUnderWay(tasks: readonly string[]): Promise<void> {
  const names = new Set(tasks.map((id) => `task-${id}`));
  // Bounded, so a proxy that never reports it fails the test instead of polling on after it.
  const deadline = performance.now() + 10_000;
  while (performance.now() < deadline) {
    const [header, ...rows] = (await runtimeApi(lb.apiPort, "show stat")).replace(/^# /, "").trim().split("\n");
    const columns = (header ?? "").split(",");
    const under = rows
      .map((r) => r.split(","))
      .some((r) => {
        const at = (c: string) => r[columns.indexOf(c)] ?? "";
        // "UP" too: on a loaded machine the poll may first see the target after its last check.
        return names.has(at("svname")) && /^(DOWN \d+\/\d+|UP)$/.test(at("status"));
      });
    if (under) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error("no target of the new tasks passed a health check within 10 s");
}

const version = async () => (await probe<{ version: string; mode: string }>(lb.url)).json?.version;

describe("the ECS service stand-in", () => {
  it("starts the desired count from the task definition: its user, read-only root, secret, no published port", async () => {
    const result = await rollOut(definition({ MODE: "good", VERSION: "1" }));
    expect(result).toMatchObject({ outcome: "steady", started: 2, stopped: 0, failedTasks: 0 });
    const answer = await probe<{ secretLength: number; uid: number }>(lb.url);
    expect(answer.json).toMatchObject({ secretLength: SECRET.length, uid: 1000 });
    const docker = (await connectDocker()).container.dockerode;
    const tasks = await listTasks(PREFIX);
    expect(tasks).toHaveLength(2);
    for (const task of tasks) {
      const info = await docker.getContainer(task.id).inspect();
      expect(info.HostConfig.ReadonlyRootfs).toBe(true);
      expect(info.HostConfig.Memory).toBe(512 * 1024 * 1024);
      // 15 s, ten times faster, in Docker's whole seconds.
      expect((info.Config as { StopTimeout?: number }).StopTimeout).toBe(2);
      expect(info.NetworkSettings.Ports).toEqual({});
      expect(Object.keys(info.NetworkSettings.Networks)).toEqual([lb.network]);
    }
    // The same definition again: nothing to roll out.
    expect((await rollOut(definition({ MODE: "good", VERSION: "1" }))).outcome).toBe("unchanged");
  }, 60_000);

  it("rolls a new revision out with zero failed requests: new tasks healthy first, old ones drained, then stopped", async () => {
    const traffic = watchTraffic(lb.url, 5);
    const result = await rollOut(definition({ MODE: "good", VERSION: "2" }));
    await new Promise((r) => setTimeout(r, 300));
    const seen = await traffic.stop();

    expect(result).toMatchObject({ outcome: "steady", started: 2, stopped: 2, failedTasks: 0 });
    expect(seen.total).toBeGreaterThan(20);
    expect(seen.failed).toBe(0);
    expect(await version()).toBe("2");
    expect(await listTasks(PREFIX)).toHaveLength(2);
    expect(events.join("\n")).toMatch(
      /has started 2 tasks[\s\S]*registered 2 targets[\s\S]*deregistered[\s\S]*has stopped[\s\S]*has reached a steady state/,
    );
  }, 60_000);

  it("trips the circuit breaker on tasks failing their health checks and rolls back, users unaffected", async () => {
    events.length = 0;
    const traffic = watchTraffic(lb.url, 5);
    const result = await rollOut(definition({ MODE: "unhealthy", VERSION: "3" }));
    const seen = await traffic.stop();

    expect(result.outcome).toBe("rolled back");
    // Failures are counted as ECS sees them, a batch at a time: the threshold, or one batch past it.
    expect(result.failedTasks).toBeGreaterThanOrEqual(circuitBreakerThreshold(2));
    expect(result.failedTasks).toBeLessThanOrEqual(circuitBreakerThreshold(2) + 1);
    expect(result.failures[0]).toMatch(/Task failed ELB health checks/);
    expect(seen.failed).toBe(0);
    expect(await version()).toBe("2");
    const tasks = await listTasks(PREFIX);
    expect(tasks).toHaveLength(2);
    expect(events.join("\n")).toMatch(/deployment failed: tasks failed to start\.[\s\S]*rolling back/);
  }, 60_000);

  it("counts a task that exits at once, with its last log line, and rolls back", async () => {
    const result = await rollOut(definition({ MODE: "exit", VERSION: "4" }));
    expect(result.outcome).toBe("rolled back");
    expect(result.failures[0]).toMatch(/Essential container in task exited \(exit code 3\)/);
    expect(result.failures[0]).toContain("cannot start: FEATURE_FLAG is not set");
    expect(await version()).toBe("2");
  }, 60_000);

  it("with no room to start new tasks (maximum 100 %), stops an old one first, and a rollback starts it again", async () => {
    events.length = 0;
    const tight = { minimumHealthyPercent: 50, maximumPercent: 100 };
    const traffic = watchTraffic(lb.url, 5);
    const result = await rollOut(definition({ MODE: "exit", VERSION: "6" }, tight));
    const seen = await traffic.stop();

    expect(result.outcome).toBe("rolled back");
    expect(result.failedTasks).toBe(circuitBreakerThreshold(2));
    // One old task stopped to make room, so the rollback starts one of the previous revision.
    expect(result.stopped).toBe(1);
    const log = events.join("\n");
    expect(log).toMatch(/deregistered 1 targets[\s\S]*has stopped 1 running tasks[\s\S]*has started 1 tasks/);
    expect(log).toMatch(/rolling back to the deployment that ran [^\n]+\.\n[^\n]*has started 1 tasks/);
    const tasks = await listTasks(PREFIX);
    expect(tasks).toHaveLength(2);
    expect(new Set(tasks.map((t) => t.revision)).size).toBe(1);
    expect(await version()).toBe("2");
    // One task kept serving throughout (minimum 50 %).
    expect(seen.failed).toBe(0);
    // The restored tasks are the previous revision's: deploying it again has nothing to do.
    expect((await rollOut(definition({ MODE: "good", VERSION: "2" }, tight))).outcome).toBe("unchanged");
  }, 60_000);

  // Each interruption happens at the moment itself, never on a timer: the abort is raised inside the
  // event's callback (the rollout checks its signal before anything else happens), or, for the health
  // checks, once the proxy reports that a new target passed a check: the rollout still has the other
  // checks, the draining and the stop ahead of it, so it cannot have ended.
  it.each([
    ["the new tasks started", /has started 2 tasks/, "at once"],
    ["the new tasks' health checks", /has started 2 tasks/, "on a passed check"],
    ["the old tasks draining", /deregistered \d+ targets/, "at once"],
    ["old tasks stopped", /has stopped \d+ running tasks/, "at once"],
  ] as const)(
    "interrupted at %s, a re-run finishes the rollout with zero failed requests",
    async (_moment, at, when) => {
      const next = String(Number((await version()) ?? 0) + 1);
      const wanted = definition({ MODE: "good", VERSION: next });
      const traffic = watchTraffic(lb.url, 5);
      const interrupt = new AbortController();
      const interrupted = await rollOut(wanted, interrupt.signal, (e) => {
        if (!at.test(e) || interrupt.signal.aborted) return;
        if (when === "at once") interrupt.abort(new Error("interrupted"));
        else
          void checksUnderWay(taskIds(e)).then(
            () => interrupt.abort(new Error("interrupted")),
            (error: unknown) => interrupt.abort(error),
          );
      }).catch((e: unknown) => e);
      expect(interrupted).toEqual(new Error("interrupted"));

      const result = await rollOut(wanted);
      const seen = await traffic.stop();
      expect(result.outcome).not.toBe("rolled back");
      expect(seen.failed).toBe(0);
      expect(await version()).toBe(next);
      // Exactly the desired count, all of the wanted revision, each registered and healthy once.
      const tasks = await listTasks(PREFIX);
      expect(tasks).toHaveLength(2);
      expect(new Set(tasks.map((t) => t.revision)).size).toBe(1);
      const targets = await describeTargetHealth(lb);
      expect(targets.map((t) => t.id).sort()).toEqual(tasks.map((t) => taskName(t.id)).sort());
      expect(targets.every((t) => t.health === "healthy")).toBe(true);
    },
    60_000,
  );

  it("fails with one sentence when a first deployment fails and there is nothing to roll back to", async () => {
    await removeContainers((await listTasks(PREFIX)).map((t) => t.id));
    const error = await rollOut(definition({ MODE: "exit", VERSION: "5" })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StepError);
    expect((error as StepError).message).toMatch(
      /failed: [34] tasks failed to start, and there is no earlier deployment/,
    );
    expect(await listTasks(PREFIX)).toEqual([]);
  }, 60_000);
});
