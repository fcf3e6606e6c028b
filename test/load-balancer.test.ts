// The load balancer stand-in (setup/lib/local/load-balancer.ts): HAProxy in a
// container, configured from infra/service.yaml's target group and the
// environment's listener, with targets on the prefix's internal network. The
// targets here are a few lines of Node in the project's Node base, so what is
// tested is the proxy: health checks, routing, draining.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readImages } from "../setup/lib/config.ts";
import { PrerequisiteError } from "../setup/lib/errors.ts";
import { connectDocker, removeContainers } from "../setup/lib/local/engine/client.ts";
import {
  ALTERNATE_TARGET,
  applyGroupWeights,
  deregisterTarget,
  describeTargetHealth,
  ensureLoadBalancer,
  haproxyConfig,
  type LoadBalancer,
  type ListenerSettings,
  registerTarget,
  removeTaskNetwork,
  targetWeight,
} from "../setup/lib/local/elbv2/load-balancer.ts";
import { findRehearsal, rehearsalLabels } from "../setup/lib/local/engine/rehearsal.ts";
import { probe } from "../setup/lib/probe.ts";
import { watchTraffic } from "../setup/lib/traffic.ts";
import { serviceTargetGroup } from "./support/service-template.ts";

const PREFIX = "lb-test";
const images = readImages(process.env);

const LISTENER: ListenerSettings = {
  defaultResponse: { status: 503, contentType: "application/json", body: '{"error":"not_deployed"}' },
  forwardPaths: ["/*"],
};

/**
 * A target: answers /health, / with its name, and /slow after 400 ms; on
 * SIGTERM it stops accepting, finishes what is in flight and exits.
 */
const TARGET_SCRIPT = `
const http = require("node:http");
const server = http.createServer((req, res) => {
  const send = () => res.end(JSON.stringify({ name: process.env.NAME }));
  if (req.url === "/slow") setTimeout(send, 400); else send();
});
server.keepAliveTimeout = 65000;
server.listen(8080);
process.on("SIGTERM", () => { server.close(() => process.exit(0)); server.closeIdleConnections(); });
`;

async function startTarget(name: string): Promise<{ id: string; address: string }> {
  const docker = (await connectDocker()).container.dockerode;
  const container = await docker.createContainer({
    Image: images.node,
    Cmd: ["node", "-e", TARGET_SCRIPT],
    Env: [`NAME=${name}`],
    User: "node",
    Labels: rehearsalLabels(PREFIX, "task"),
    HostConfig: { NetworkMode: `aws-cicd-lab-${PREFIX}-tasks`, ReadonlyRootfs: true },
  });
  await container.start();
  const info = await container.inspect();
  const address = info.NetworkSettings.Networks[`aws-cicd-lab-${PREFIX}-tasks`]?.IPAddress ?? "";
  return { id: container.id, address };
}

async function stopTarget(id: string): Promise<void> {
  const docker = (await connectDocker()).container.dockerode;
  await docker.getContainer(id).stop({ t: 2 });
  await removeContainers([id]);
}

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const healthOf = async (lb: LoadBalancer, id: string) =>
  (await describeTargetHealth(lb)).find((t) => t.id === id)?.health;

async function cleanUp(): Promise<void> {
  await removeContainers((await findRehearsal(PREFIX)).map((c) => c.id));
  await removeTaskNetwork(PREFIX);
}

beforeAll(cleanUp, 60_000);
afterAll(cleanUp, 60_000);

describe("the target group's settings", () => {
  it("come from infra/service.yaml: /health every 5 s, 2 s timeout, 2 up, 2 down, 10 s draining", () => {
    expect(serviceTargetGroup(PREFIX)).toEqual({
      port: 8080,
      healthCheckPath: "/health",
      intervalSeconds: 5,
      timeoutSeconds: 2,
      healthyThreshold: 2,
      unhealthyThreshold: 2,
      successCodes: "200",
      deregistrationDelaySeconds: 10,
    });
  });

  it("become an HAProxy backend; the listener's default action answers what no rule forwards", () => {
    const config = haproxyConfig({ listener: LISTENER, targetGroup: serviceTargetGroup(PREFIX), speedup: 10 });
    expect(config).toContain("option httpchk GET /health");
    expect(config).toContain("http-check expect rstatus ^(200)$");
    // 2 s ten times faster is 200 ms; a check's timeout is never under a second (a busy machine).
    expect(config).toContain("timeout check 1000ms");
    expect(config).toContain("acl forwarded path -m reg ^/.*$");
    const unforwarded = haproxyConfig({
      listener: { ...LISTENER, forwardPaths: [] },
      targetGroup: serviceTargetGroup(PREFIX),
      speedup: 1,
    });
    expect(unforwarded).not.toContain("use_backend");
    expect(unforwarded).toContain("timeout check 2000ms");
  });
});

describe("HAProxy standing in for the load balancer", () => {
  // AWS's timings ten times faster: checks every 0.5 s, a new target healthy after about 1 s, 5 s of draining at most.
  const spec = () => ({
    prefix: PREFIX,
    image: images.proxy,
    listener: LISTENER,
    targetGroup: serviceTargetGroup(PREFIX),
    speedup: 10,
  });

  it("says in one sentence when the proxy cannot start, and leaves no container behind", async () => {
    // The Node base runs no HAProxy: the container exits at once.
    const error = await ensureLoadBalancer({ ...spec(), image: images.node }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PrerequisiteError);
    expect((error as PrerequisiteError).message).toMatch(
      /^The proxy standing in for the load balancer \(.+\) did not start: /,
    );
    expect((error as PrerequisiteError).hint).toMatch(/npm run images/);
    expect((await findRehearsal(PREFIX)).filter((c) => c.role === "proxy")).toEqual([]);
  }, 60_000);

  it("answers the listener's default action while no rule forwards", async () => {
    const lb = await ensureLoadBalancer({ ...spec(), listener: { ...LISTENER, forwardPaths: [] } });
    const answer = await probe(`${lb.url}/time`);
    expect(answer.status).toBe(503);
    expect(answer.json).toEqual({ error: "not_deployed" });
  }, 60_000);

  it("sends no request to a new target before it passed its health checks, then routes to it", async () => {
    const lb = await ensureLoadBalancer(spec());
    expect(lb.reused).toBe(false);
    const a = await startTarget("a");
    await registerTarget(lb, "task-a", a.address);
    expect(await healthOf(lb, "task-a")).toBe("initial");
    expect((await probe(lb.url)).status).toBe(503);
    await until("task-a healthy", async () => ((await healthOf(lb, "task-a")) === "healthy" ? true : undefined));
    expect((await probe<{ name: string }>(lb.url)).json?.name).toBe("a");
    // The same configuration: the running proxy is kept, with its targets.
    const again = await ensureLoadBalancer(spec());
    expect(again).toMatchObject({ reused: true, url: lb.url });
    expect(await healthOf(again, "task-a")).toBe("healthy");
  }, 60_000);

  it("replaces a target under continuous requests with zero failures: register, healthy, drain, stop", async () => {
    const lb = await ensureLoadBalancer(spec());
    const [old] = (await describeTargetHealth(lb)).filter((t) => t.health === "healthy");
    if (!old) throw new Error("the previous test left no healthy target");
    const oldContainer = (await findRehearsal(PREFIX)).find((c) => c.role === "task");
    const traffic = watchTraffic(`${lb.url}/slow`, 5);
    const b = await startTarget("b");
    await registerTarget(lb, "task-b", b.address);
    await until("task-b healthy", async () => ((await healthOf(lb, "task-b")) === "healthy" ? true : undefined));
    const { drainedMs } = await deregisterTarget(lb, old.id);
    if (oldContainer) await stopTarget(oldContainer.id);
    await new Promise((r) => setTimeout(r, 500));
    const seen = await traffic.stop();

    // Requests of 400 ms each, one after the other, through the whole replacement.
    expect(seen.total).toBeGreaterThanOrEqual(4);
    expect(seen.failed).toBe(0);
    // Draining waited for the request in flight (up to 400 ms), not the whole second.
    expect(drainedMs).toBeLessThan(1_000);
    expect((await describeTargetHealth(lb)).map((t) => t.id)).toEqual(["task-b"]);
    expect((await probe<{ name: string }>(lb.url)).json?.name).toBe("b");
  }, 60_000);

  it("the traffic counter counts the requests a stand-in with draining turned off cuts", async () => {
    // Draining is the stand-in's, not HAProxy's configuration: the same proxy, its targets kept.
    const lb = await ensureLoadBalancer({
      ...spec(),
      targetGroup: { ...serviceTargetGroup(PREFIX), deregistrationDelaySeconds: 0 },
    });
    for (const name of ["c", "d"]) await registerTarget(lb, `task-${name}`, (await startTarget(name)).address);
    for (const id of ["task-c", "task-d"])
      await until(`${id} healthy`, async () => ((await healthOf(lb, id)) === "healthy" ? true : undefined));
    const traffic = watchTraffic(`${lb.url}/slow`, 5);
    // The target serving the request in flight is deregistered with no draining: that request is cut.
    const busy = await until("a request in flight", async () =>
      (await describeTargetHealth(lb)).find((t) => t.connections > 0),
    );
    await deregisterTarget(lb, busy.id);
    await new Promise((r) => setTimeout(r, 1_000));
    const seen = await traffic.stop();

    expect(seen.failed).toBeGreaterThan(0);
    // The other target kept answering.
    expect(seen.total).toBeGreaterThan(seen.failed);
  }, 60_000);

  it("shares the rule's requests between two target groups by the forward action's weights (canary)", async () => {
    const lb = await ensureLoadBalancer(spec());
    // From no targets: two of the service's group, two of the alternate group, every one healthy.
    for (const t of await describeTargetHealth(lb)) await deregisterTarget(lb, t.id, { drain: false });
    const ids = ["task-s1", "task-s2", `${ALTERNATE_TARGET}task-g1`, `${ALTERNATE_TARGET}task-g2`];
    for (const id of ids) {
      const alternate = id.startsWith(ALTERNATE_TARGET);
      // A target of a group with no weight gets none from the start: it is checked, never sent requests.
      await registerTarget(lb, id, (await startTarget(id)).address, { weight: alternate ? 0 : 100 });
    }
    for (const id of ids)
      await until(`${id} healthy`, async () => ((await healthOf(lb, id)) === "healthy" ? true : undefined));
    const shareOfAlternate = async () => {
      let alternate = 0;
      for (let i = 0; i < 200; i++)
        if ((await probe<{ name: string }>(lb.url)).json?.name?.startsWith(ALTERNATE_TARGET)) alternate += 1;
      return alternate / 200;
    };
    expect(await shareOfAlternate()).toBe(0);
    await applyGroupWeights(lb, { service: 90, alternate: 10 });
    // Weighted round robin is exact over its cycle: 10 % within a point.
    expect(Math.abs((await shareOfAlternate()) - 0.1)).toBeLessThanOrEqual(0.01);
    await applyGroupWeights(lb, { service: 0, alternate: 100 });
    expect(await shareOfAlternate()).toBe(1);
    await applyGroupWeights(lb, { service: 100, alternate: 0 });
    expect(await shareOfAlternate()).toBe(0);
  }, 60_000);

  it("weighs each target by its group's share divided among the group's targets", () => {
    expect([targetWeight(90, 2), targetWeight(10, 2), targetWeight(100, 1), targetWeight(0, 3)]).toEqual([
      90, 10, 200, 0,
    ]);
    // Never rounded to nothing while the group has a share.
    expect(targetWeight(1, 5)).toBe(1);
  });
});
