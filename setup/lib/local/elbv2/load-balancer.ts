// The local stand-in for the Application Load Balancer: HAProxy (Debian's
// haproxy 2.6), one per rehearsal prefix. Its listener is published on
// 127.0.0.1 and is the app's URL; the tasks sit on the prefix's own Docker
// network, which has no way out and no published ports, so they are reachable
// only through the proxy. The configuration is rendered from the templates
// (haproxy.ts); targets are registered and deregistered at run time through
// HAProxy's runtime API, as ECS does with the ALB, never by restarting the
// proxy; their state in the ALB's words is the health model's (target-health.ts)
// judgement of what HAProxy's checks report.
import net from "node:net";
import { PrerequisiteError, StepError } from "../../errors.ts";
import { probe } from "../../probe.ts";
import { connectDocker, containerLogs, containerLogsSince, removeContainers } from "../engine/client.ts";
import { findRehearsal, rehearsalLabels } from "../engine/rehearsal.ts";
import { PROXY_CONFIG_LABEL } from "../engine/labels.ts";
import {
  BACKEND,
  checkReports,
  haproxyConfig,
  LISTENER_PORT,
  type ProxySettings,
  RUNTIME_API_PORT,
} from "./haproxy.ts";
import { parseRequestLine, type RequestRecord } from "./request-metrics.ts";
import { checkIntervalMs, type TargetGroupSettings } from "./settings.ts";
import { TargetGroupHealth, type TargetHealth, type TargetHealthDescription } from "./target-health.ts";
import { HAPROXY_CONFIG_VARIABLE } from "./image.ts";

// What setup/, the tests and the lessons import from here.
export { haproxyConfig } from "./haproxy.ts";
export { type ListenerSettings, type TargetGroupSettings, targetGroupSettings } from "./settings.ts";
export type { TargetHealth, TargetHealthDescription } from "./target-health.ts";

/** A prefix's load balancer: its listener, target group and speed-up (see ProxySettings), and the proxy's image. */
export interface LoadBalancerSpec extends ProxySettings {
  readonly prefix: string;
  readonly image: string;
}

// ---------------------------------------------------------------- the proxy and its network

/** The Docker network of a prefix's tasks: internal (no way out, nothing published); the proxy joins it. */
export const taskNetwork = (prefix: string): string => `aws-cicd-lab-${prefix}-tasks`;

export interface LoadBalancer {
  /** The listener: http://127.0.0.1:<port>, the app's URL. */
  readonly url: string;
  /** The runtime API's published port on 127.0.0.1. */
  readonly apiPort: number;
  readonly network: string;
  readonly targetGroup: TargetGroupSettings;
  readonly speedup: number;
  readonly reused: boolean;
  /** The target group's health model: when each target was registered through this handle, and the ALB's rules. */
  readonly health: TargetGroupHealth;
}

async function ensureNetwork(prefix: string): Promise<string> {
  const docker = (await connectDocker()).container.dockerode;
  const name = taskNetwork(prefix);
  const found = await docker.listNetworks({ filters: { name: [name] } });
  if (!found.some((n) => n.Name === name))
    await docker.createNetwork({ Name: name, Internal: true, Labels: rehearsalLabels(prefix, "proxy") });
  return name;
}

/** Removes the prefix's task network; one already gone is not an error. */
export async function removeTaskNetwork(prefix: string): Promise<boolean> {
  const docker = (await connectDocker()).container.dockerode;
  const name = taskNetwork(prefix);
  const found = await docker.listNetworks({ filters: { name: [name] } });
  if (!found.some((n) => n.Name === name)) return false;
  await docker.getNetwork(name).remove();
  return true;
}

type PublishedPorts = Record<string, Array<{ HostPort: string }> | null>;

const hostPort = (ports: PublishedPorts, port: number) => Number(ports[`${port}/tcp`]?.[0]?.HostPort ?? 0);

/** Where a proxy container answers on 127.0.0.1: its listener's URL and its runtime API's port. */
function proxyAddresses(ports: PublishedPorts): { url: string; apiPort: number } {
  return { url: `http://127.0.0.1:${hostPort(ports, LISTENER_PORT)}`, apiPort: hostPort(ports, RUNTIME_API_PORT) };
}

/** Whether the runtime API on that port answers at all. */
const runtimeApiAnswers = (port: number): Promise<boolean> =>
  runtimeApi(port, "show info").then(
    () => true,
    () => false,
  );

/** This prefix's running proxy: its container and where it answers on 127.0.0.1; undefined when none runs. */
export async function runningProxy(
  prefix: string,
): Promise<{ id: string; url: string; apiPort: number; listening: boolean } | undefined> {
  const proxy = (await findRehearsal(prefix)).find((c) => c.role === "proxy" && c.running);
  if (!proxy) return undefined;
  const docker = (await connectDocker()).container.dockerode;
  const ports = (await docker.getContainer(proxy.id).inspect()).NetworkSettings.Ports;
  return { id: proxy.id, ...proxyAddresses(ports), listening: hostPort(ports, LISTENER_PORT) > 0 };
}

/** The listener URL of this prefix's running proxy, if one runs. */
export async function loadBalancerUrl(prefix: string): Promise<string | undefined> {
  const proxy = await runningProxy(prefix);
  return proxy?.listening ? proxy.url : undefined;
}

/**
 * What a running proxy saw since a time, for the load balancer's metrics
 * (request-metrics.ts): the requests its log records, and how many of the
 * target group's servers are up and how many are not (maintenance, i.e.
 * deregistered, not counted).
 */
export async function proxyActivity(
  proxy: { readonly id: string; readonly apiPort: number },
  sinceSeconds: number,
): Promise<{ requests: RequestRecord[]; healthy: number; unhealthy: number }> {
  const requests = (await containerLogsSince(proxy.id, sinceSeconds)).flatMap((line) => {
    const r = parseRequestLine(line);
    return r ? [r] : [];
  });
  const servers = checkReports(await runtimeApi(proxy.apiPort, "show stat")).filter(
    (r) => !r.status.startsWith("MAINT"),
  );
  const healthy = servers.filter((r) => r.status.startsWith("UP")).length;
  return { requests, healthy, unhealthy: servers.length - healthy };
}

/**
 * This prefix's load balancer: the running proxy when its configuration is
 * the one wanted, else (others removed) a new one. A change to the listener
 * rule or the target group's settings starts a new proxy, as a changed
 * template would; targets never do (see registerTarget).
 */
export async function ensureLoadBalancer(spec: LoadBalancerSpec): Promise<LoadBalancer> {
  const docker = (await connectDocker()).container.dockerode;
  const config = haproxyConfig(spec);
  const network = await ensureNetwork(spec.prefix);
  const health = new TargetGroupHealth(spec.targetGroup, spec.speedup);
  const base = { network, targetGroup: spec.targetGroup, speedup: spec.speedup, health };
  const proxies = (await findRehearsal(spec.prefix)).filter((c) => c.role === "proxy");
  for (const proxy of proxies.filter((c) => c.running)) {
    const info = await docker.getContainer(proxy.id).inspect();
    if (info.Config.Labels[PROXY_CONFIG_LABEL] !== config) continue;
    const lb = proxyAddresses(info.NetworkSettings.Ports);
    if (await runtimeApiAnswers(lb.apiPort)) return { ...lb, ...base, reused: true };
  }
  await removeContainers(proxies.map((c) => c.id));

  const container = await docker.createContainer({
    Image: spec.image,
    Env: [`${HAPROXY_CONFIG_VARIABLE}=${config}`],
    Labels: { ...rehearsalLabels(spec.prefix, "proxy"), [PROXY_CONFIG_LABEL]: config },
    ExposedPorts: { [`${LISTENER_PORT}/tcp`]: {}, [`${RUNTIME_API_PORT}/tcp`]: {} },
    HostConfig: {
      // Published on this machine's loopback only.
      PortBindings: {
        [`${LISTENER_PORT}/tcp`]: [{ HostIp: "127.0.0.1", HostPort: "" }],
        [`${RUNTIME_API_PORT}/tcp`]: [{ HostIp: "127.0.0.1", HostPort: "" }],
      },
    },
  });
  try {
    await docker.getNetwork(network).connect({ Container: container.id });
    await container.start();
    const lb = proxyAddresses((await container.inspect()).NetworkSettings.Ports);
    await waitUntilServing(lb, async () => (await container.inspect()).State.Running);
    return { ...lb, ...base, reused: false };
  } catch (error) {
    const logs = (await containerLogs(container.id, 5)).join("; ");
    await removeContainers([container.id]);
    throw new PrerequisiteError(
      `The proxy standing in for the load balancer (${spec.image}) did not start: ${logs || (error as Error).message.split("\n")[0]}`,
      "Run `npm run images` to rebuild it, then the same command again.",
      error,
    );
  }
}

/** Until both the runtime API and the listener answer (any HTTP status); the proxy exiting ends the wait. */
async function waitUntilServing(lb: { url: string; apiPort: number }, running: () => Promise<boolean>): Promise<void> {
  const deadline = performance.now() + 10_000;
  for (;;) {
    if ((await runtimeApiAnswers(lb.apiPort)) && (await probe(lb.url, { timeoutMs: 1_000 })).status !== 0) return;
    if (!(await running())) throw new Error("it exited");
    if (performance.now() > deadline) throw new Error("its listener and runtime API did not answer within 10 s");
    await new Promise((r) => setTimeout(r, 100));
  }
}

// ---------------------------------------------------------------- the runtime API and targets

/** One runtime API command; its answer as text. */
export function runtimeApi(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let answer = "";
    const socket = net.connect(port, "127.0.0.1", () => socket.end(`${command}\n`));
    socket.setTimeout(5_000, () => socket.destroy(new Error(`the runtime API did not answer "${command}"`)));
    socket.on("data", (d: Buffer) => (answer += d.toString("utf8")));
    socket.on("end", () => resolve(answer));
    socket.on("error", reject);
  });
}

/** A command that answers nothing when it works (set, enable, del ...); any text is HAProxy's refusal. */
async function command(lb: LoadBalancer, text: string, expect: RegExp = /^\s*$/): Promise<void> {
  const answer = await runtimeApi(lb.apiPort, text);
  if (!expect.test(answer))
    throw new StepError(
      `The load balancer stand-in refused "${text}": ${answer.trim()}`,
      "Run the same command again.",
    );
}

/**
 * Registers a task (ip:port on the task network) as ECS does with the target
 * group: the target is not sent requests until it has passed the health check
 * `healthyThreshold` times in a row ("initial" until then), and is taken out
 * after `unhealthyThreshold` failures in a row. HAProxy counts a new server as
 * up at once, so it is added with weight 0, forced down, then weighted: down,
 * it gets no requests until its checks bring it up.
 */
export async function registerTarget(
  lb: LoadBalancer,
  id: string,
  address: string,
  { weight = 100 }: { readonly weight?: number } = {},
): Promise<void> {
  const tg = lb.targetGroup;
  const server = `${BACKEND}/${id}`;
  await command(
    lb,
    `add server ${server} ${address}:${tg.port} check inter ${checkIntervalMs(tg, lb.speedup)} ` +
      `rise ${tg.healthyThreshold} fall ${tg.unhealthyThreshold} weight 0`,
    /New server registered/,
  );
  await command(lb, `enable health ${server}`);
  await command(lb, `enable server ${server}`);
  await command(lb, `set server ${server} health down`);
  await command(lb, `set weight ${server} ${weight}`);
  lb.health.registered(id);
}

/**
 * The alternate target group's targets (blue/green and canary deployments)
 * are named with this before their id: both groups' targets are one HAProxy
 * backend, with the same health check, and a target's group is in its name,
 * so it is known again after a restart.
 */
export const ALTERNATE_TARGET = "alt.";

/** The share (0-100) of the rule's requests each target group gets: its forward action's weights. */
export interface GroupWeights {
  readonly service: number;
  readonly alternate: number;
}

/** A target's weight when its group has `groupWeight` of the requests and `targets` targets. */
export function targetWeight(groupWeight: number, targets: number): number {
  if (groupWeight <= 0) return 0;
  // HAProxy weights run 0-256: a group's 0-100 twice over, shared by its targets, never rounded to 0.
  return Math.max(1, Math.round((groupWeight * 2) / Math.max(1, targets)));
}

/**
 * The listener rule's weighted forward, as the ALB applies it: each group gets
 * its weight's share of the requests, whatever its number of targets (each
 * target weighs its group's weight divided among them). Applied to the
 * targets registered now; a target registered later gets its weight from the
 * weights then (targetWeight).
 */
export async function applyGroupWeights(lb: LoadBalancer, weights: GroupWeights): Promise<void> {
  const ids = checkReports(await runtimeApi(lb.apiPort, "show stat")).map((r) => r.id);
  const alternate = ids.filter((id) => id.startsWith(ALTERNATE_TARGET));
  const service = ids.filter((id) => !id.startsWith(ALTERNATE_TARGET));
  for (const id of service)
    await command(lb, `set weight ${BACKEND}/${id} ${targetWeight(weights.service, service.length)}`);
  for (const id of alternate)
    await command(lb, `set weight ${BACKEND}/${id} ${targetWeight(weights.alternate, alternate.length)}`);
}

/** The target group's targets and their health: HAProxy's statistics, judged by the health model. */
export async function describeTargetHealth(lb: LoadBalancer): Promise<TargetHealthDescription[]> {
  return checkReports(await runtimeApi(lb.apiPort, "show stat")).map((report) => lb.health.describe(report));
}

/** Each target's health by its id. */
export async function targetHealthById(lb: LoadBalancer): Promise<Map<string, TargetHealth>> {
  return new Map((await describeTargetHealth(lb)).map((t) => [t.id, t.health]));
}

/**
 * Deregisters a target as the ALB does: no new requests, requests in flight
 * get up to the deregistration delay to finish (it ends early when none are
 * left), then the target is gone. With `drain: false` (a task that never
 * served, or is failing) it is taken out at once. Returns how long it drained.
 */
export async function deregisterTarget(
  lb: LoadBalancer,
  id: string,
  { drain = true }: { drain?: boolean } = {},
): Promise<{ drainedMs: number }> {
  const server = `${BACKEND}/${id}`;
  const draining = lb.health.startDrain({ drain });
  await command(lb, `set server ${server} state drain`);
  while (!draining.expired()) {
    const target = (await describeTargetHealth(lb)).find((t) => t.id === id);
    if (draining.over(target?.connections)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const drainedMs = draining.elapsedMs();
  await command(lb, `set server ${server} state maint`);
  await command(lb, `shutdown sessions server ${server}`);
  await command(lb, `del server ${server}`, /^\s*(Server deleted\.)?\s*$/);
  lb.health.deregistered(id);
  return { drainedMs };
}
