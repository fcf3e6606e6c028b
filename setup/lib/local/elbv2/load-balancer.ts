// The local stand-in for the Application Load Balancer: HAProxy (Debian's
// haproxy 2.6), one per rehearsal prefix. Its listener is published on
// 127.0.0.1 and is the app's URL; the tasks sit on the prefix's own Docker
// network, which has no way out and no published ports, so they are reachable
// only through the proxy. The configuration is rendered from the templates: the
// listener's default action, the listener rule's path patterns, and the target
// group's health check. Targets are registered and deregistered at run time
// through HAProxy's runtime API, as ECS does with the ALB, never by restarting
// the proxy.
import net from "node:net";
import { PrerequisiteError, StepError } from "../../errors.ts";
import { probe } from "../../probe.ts";
import { connectDocker, containerLogs, removeContainers } from "../engine/client.ts";
import { MIN_CHECK_TIMEOUT_MS, scaled } from "../clock.ts";
import { findRehearsal, rehearsalLabels } from "../engine/rehearsal.ts";
import { PROXY_CONFIG_LABEL } from "../engine/labels.ts";

/** The listener's port inside the proxy container, and the runtime API's. */
const LISTENER_PORT = 8080;
const RUNTIME_API_PORT = 9999;
/** The one target group's backend. */
const BACKEND = "tg";

/** AWS::ElasticLoadBalancingV2::TargetGroup settings the stand-in honours, AWS's defaults where unset. */
export interface TargetGroupSettings {
  readonly port: number;
  readonly healthCheckPath: string;
  readonly intervalSeconds: number;
  readonly timeoutSeconds: number;
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
  /** Matcher.HttpCode, e.g. "200" or "200-299". */
  readonly successCodes: string;
  /** The deregistration_delay.timeout_seconds attribute: how long a deregistering target drains. */
  readonly deregistrationDelaySeconds: number;
}

/** The target group's settings from its template properties (as rendered with the stack's parameters). */
export function targetGroupSettings(properties: Readonly<Record<string, unknown>>): TargetGroupSettings {
  const number = (key: string, fallback: number) =>
    properties[key] === undefined ? fallback : Number(properties[key]);
  const attributes = (properties.TargetGroupAttributes ?? []) as Array<{ Key: string; Value: string }>;
  const delay = attributes.find((a) => a.Key === "deregistration_delay.timeout_seconds")?.Value;
  return {
    port: number("Port", 80),
    healthCheckPath: typeof properties.HealthCheckPath === "string" ? properties.HealthCheckPath : "/",
    intervalSeconds: number("HealthCheckIntervalSeconds", 30),
    timeoutSeconds: number("HealthCheckTimeoutSeconds", 5),
    healthyThreshold: number("HealthyThresholdCount", 5),
    unhealthyThreshold: number("UnhealthyThresholdCount", 2),
    successCodes: String((properties.Matcher as { HttpCode?: string } | undefined)?.HttpCode ?? "200"),
    deregistrationDelaySeconds: delay === undefined ? 300 : Number(delay),
  };
}

/** The listener: its default fixed response, and the path patterns its rule forwards to the target group. */
export interface ListenerSettings {
  readonly defaultResponse: { readonly status: number; readonly contentType: string; readonly body: string };
  /** The forward rule's path-pattern values, e.g. ["/*"]; none while no rule forwards (no service yet). */
  readonly forwardPaths: readonly string[];
}

export interface LoadBalancerSpec {
  readonly prefix: string;
  readonly image: string;
  readonly listener: ListenerSettings;
  readonly targetGroup: TargetGroupSettings;
  /**
   * Seconds of AWS time per second of rehearsal time: 10 runs the health
   * checks and draining ten times faster than the template says, so a rollout
   * takes seconds; 1 runs them as written.
   */
  readonly speedup: number;
}

/** An ALB path pattern (`*` any characters, `?` one) as an anchored regular expression. */
function pathRegex(pattern: string): string {
  const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  return `^${escaped.replace(/\*/g, ".*").replace(/\?/g, ".")}$`;
}

/** An HAProxy check expectation for a Matcher.HttpCode: "200", "200,302" or "200-299". */
function expectStatus(codes: string): string {
  const alternatives = codes.split(",").flatMap((part) => {
    const range = /^(\d{3})-(\d{3})$/.exec(part.trim());
    if (!range) return [part.trim()];
    const from = Number(range[1]);
    return Array.from({ length: Number(range[2]) - from + 1 }, (_, i) => String(from + i));
  });
  return `http-check expect rstatus ^(${alternatives.join("|")})$`;
}

/**
 * A health check's timeout, sped up but never under a second: a busy machine
 * (builds, other tasks) answers slower than 1/10 of the template's timeout,
 * and a slow answer must not count as a failed check.
 */
const checkTimeoutMs = (tg: TargetGroupSettings, speedup: number) =>
  Math.max(MIN_CHECK_TIMEOUT_MS, scaled(tg.timeoutSeconds, speedup));

/** The HAProxy configuration for a listener and its target group. */
export function haproxyConfig(spec: Pick<LoadBalancerSpec, "listener" | "targetGroup" | "speedup">): string {
  const { listener, targetGroup: tg, speedup } = spec;
  const response = listener.defaultResponse;
  const fixed = `http-request return status ${response.status} content-type "${response.contentType}" string ${JSON.stringify(response.body)}`;
  const routing =
    listener.forwardPaths.length > 0
      ? [
          `  acl forwarded path -m reg ${listener.forwardPaths.map(pathRegex).join(" ")}`,
          // The listener's default action (fixed-response) for what no rule forwards.
          `  ${fixed} if !forwarded`,
          `  use_backend ${BACKEND} if forwarded`,
        ]
      : ["  # No listener rule forwards yet (no service): every request gets the default action.", `  ${fixed}`];
  return [
    "global",
    // The runtime API, admin level: published on 127.0.0.1 only.
    `  stats socket ipv4@0.0.0.0:${RUNTIME_API_PORT} level admin`,
    "defaults",
    "  mode http",
    "  timeout connect 2s",
    // The ALB's default idle timeout.
    "  timeout client 60s",
    "  timeout server 60s",
    `  timeout check ${checkTimeoutMs(tg, speedup)}ms`,
    "frontend listener",
    `  bind :${LISTENER_PORT}`,
    ...routing,
    `backend ${BACKEND}`,
    "  balance roundrobin",
    `  option httpchk GET ${tg.healthCheckPath}`,
    `  ${expectStatus(tg.successCodes)}`,
    "",
  ].join("\n");
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

/** The listener URL of this prefix's running proxy, if one runs. */
export async function loadBalancerUrl(prefix: string): Promise<string | undefined> {
  const docker = (await connectDocker()).container.dockerode;
  const proxy = (await findRehearsal(prefix)).find((c) => c.role === "proxy" && c.running);
  if (!proxy) return undefined;
  const info = await docker.getContainer(proxy.id).inspect();
  return hostPort(info.NetworkSettings.Ports, LISTENER_PORT)
    ? proxyAddresses(info.NetworkSettings.Ports).url
    : undefined;
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
  const base = { network, targetGroup: spec.targetGroup, speedup: spec.speedup };
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
    Env: [`HAPROXY_CFG=${config}`],
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

/** A target's state, in the ALB's words. */
export type TargetHealth = "initial" | "healthy" | "unhealthy" | "draining";

export interface TargetHealthDescription {
  /** The server name: the task's id. */
  readonly id: string;
  readonly health: TargetHealth;
  /** Connections open to it now. */
  readonly connections: number;
}

/** When this process registered each target (`<api port>/<server>`). */
const registeredAt = new Map<string, number>();

/**
 * Registers a task (ip:port on the task network) as ECS does with the target
 * group: the target is not sent requests until it has passed the health check
 * `healthyThreshold` times in a row ("initial" until then), and is taken out
 * after `unhealthyThreshold` failures in a row. HAProxy counts a new server as
 * up at once, so it is added with weight 0, forced down, then weighted: down,
 * it gets no requests until its checks bring it up.
 */
export async function registerTarget(lb: LoadBalancer, id: string, address: string): Promise<void> {
  const tg = lb.targetGroup;
  const server = `${BACKEND}/${id}`;
  await command(
    lb,
    `add server ${server} ${address}:${tg.port} check inter ${scaled(tg.intervalSeconds, lb.speedup)} ` +
      `rise ${tg.healthyThreshold} fall ${tg.unhealthyThreshold} weight 0`,
    /New server registered/,
  );
  await command(lb, `enable health ${server}`);
  await command(lb, `enable server ${server}`);
  await command(lb, `set server ${server} health down`);
  await command(lb, `set weight ${server} 100`);
  registeredAt.set(`${lb.apiPort}/${id}`, performance.now());
}

/** The target group's targets and their health, from HAProxy's statistics. */
export async function describeTargetHealth(lb: LoadBalancer): Promise<TargetHealthDescription[]> {
  const csv = await runtimeApi(lb.apiPort, "show stat");
  const [header, ...rows] = csv.replace(/^# /, "").trim().split("\n");
  const columns = (header ?? "").split(",");
  const at = (row: string[], name: string) => row[columns.indexOf(name)] ?? "";
  return rows
    .map((line) => line.split(","))
    .filter((row) => at(row, "pxname") === BACKEND && !["FRONTEND", "BACKEND"].includes(at(row, "svname")))
    .map((row) => {
      const status = at(row, "status");
      // The last check failed (a status code, a refused or timed-out connection), as opposed to passed or not run.
      const failing = !["", "INI", "L4OK", "L6OK", "L7OK"].includes(at(row, "check_status"));
      // A target that was healthy counts its failures (chkfail); one that never was has been failing
      // since it was registered (this process's clock, else HAProxy's lastchg in whole seconds) for
      // as long as `unhealthyThreshold` checks take, the last one allowed its whole timeout.
      const name = at(row, "svname");
      const since = registeredAt.get(`${lb.apiPort}/${name}`);
      const failingMs = since === undefined ? Number(at(row, "lastchg") || 0) * 1000 : performance.now() - since;
      const failedLongEnough =
        Number(at(row, "chkfail") || 0) >= lb.targetGroup.unhealthyThreshold ||
        failingMs >=
          lb.targetGroup.unhealthyThreshold * scaled(lb.targetGroup.intervalSeconds, lb.speedup) +
            checkTimeoutMs(lb.targetGroup, lb.speedup);
      const health: TargetHealth = /^(DRAIN|MAINT|NOLB)/.test(status)
        ? "draining"
        : status.startsWith("UP")
          ? "healthy"
          : status === "DOWN" && failing && failedLongEnough
            ? "unhealthy"
            : "initial";
      return { id: name, health, connections: Number(at(row, "scur") || 0) };
    });
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
  const started = performance.now();
  const deadline = drain ? started + scaled(lb.targetGroup.deregistrationDelaySeconds, lb.speedup) : started;
  await command(lb, `set server ${server} state drain`);
  while (performance.now() < deadline) {
    const target = (await describeTargetHealth(lb)).find((t) => t.id === id);
    if (!target || target.connections === 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const drainedMs = Math.round(performance.now() - started);
  await command(lb, `set server ${server} state maint`);
  await command(lb, `shutdown sessions server ${server}`);
  await command(lb, `del server ${server}`, /^\s*(Server deleted\.)?\s*$/);
  return { drainedMs };
}
