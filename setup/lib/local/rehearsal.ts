// The local rehearsal's containers: the emulator, the registry, the builds and
// the app, labelled with the prefix and their role so a re-run finds and
// reuses them and teardown finds and removes them, even after the process
// that started them has gone.
import { Wait } from "testcontainers";
import { type RunningContainer, startContainer } from "./containers.ts";
import { connectDocker, LAB_LABEL, removeContainers } from "./docker.ts";
import { probe } from "../probe.ts";
import type { MotoContainer } from "./emulator.ts";

const REHEARSAL_LABEL = "aws-cicd-lab.rehearsal";
const ROLE_LABEL = "aws-cicd-lab.role";

export type RehearsalRole = "emulator" | "registry" | "build" | "app" | "proxy" | "task";

/** Labels that tie a container to this prefix's rehearsal and say what it stands in for. */
export function rehearsalLabels(prefix: string, role: RehearsalRole): Record<string, string> {
  return { [REHEARSAL_LABEL]: prefix, [ROLE_LABEL]: role, [LAB_LABEL]: rehearsalRunId(prefix) };
}

export interface RehearsalContainer {
  readonly id: string;
  readonly role: RehearsalRole;
  readonly image: string;
  readonly running: boolean;
  /** http://127.0.0.1:<published port>, when running. */
  readonly url?: string;
}

/** Not tied to a process: these outlive `bin/run --keep` and are removed by teardown. */
export function rehearsalRunId(prefix: string): string {
  return `rehearsal-${prefix}`;
}

export async function findRehearsal(prefix: string): Promise<RehearsalContainer[]> {
  const docker = (await connectDocker()).container.dockerode;
  const found = await docker.listContainers({ all: true, filters: { label: [`${REHEARSAL_LABEL}=${prefix}`] } });
  return found.map((c) => {
    const port = c.Ports.find((p) => p.PublicPort && (p.IP === "127.0.0.1" || p.IP === "0.0.0.0"))?.PublicPort;
    return {
      id: c.Id,
      role: (c.Labels[ROLE_LABEL] ?? "app") as RehearsalRole,
      image: c.Image,
      running: c.State === "running",
      ...(c.State === "running" && port ? { url: `http://127.0.0.1:${port}` } : {}),
    };
  });
}

const answers = async (url: string, path: string) => (await probe(`${url}${path}`, { timeoutMs: 3_000 })).ok;

/**
 * This prefix's container in `role`: the running one when `path` answers on
 * it, else, with any others of that role removed, the one `start` makes
 * (which returns its URL).
 */
export async function reuseOrStart(
  prefix: string,
  role: RehearsalRole,
  path: string,
  start: () => Promise<string>,
): Promise<{ url: string; reused: boolean }> {
  const existing = (await findRehearsal(prefix)).filter((c) => c.role === role);
  const live = existing.find((c) => c.running && c.url);
  if (live?.url && (await answers(live.url, path))) return { url: live.url, reused: true };
  await removeContainers(existing.map((c) => c.id));
  return { url: await start(), reused: false };
}

/** The rehearsal's emulator: the running one for this prefix if it answers, else a new one from `moto`. */
export async function ensureEmulator(
  prefix: string,
  moto: MotoContainer,
): Promise<{ endpoint: string; reused: boolean }> {
  const { url, reused } = await reuseOrStart(
    prefix,
    "emulator",
    "/moto-api/",
    async () =>
      (
        await moto
          .withRunId(rehearsalRunId(prefix))
          .withLabels({ [REHEARSAL_LABEL]: prefix, [ROLE_LABEL]: "emulator" })
          .start()
      ).endpoint,
  );
  return { endpoint: url, reused };
}

export interface AppContainer {
  readonly url: string;
  readonly id: string;
  readonly reused: boolean;
  /** Set when a running app was replaced: how long its URL did not answer /health. */
  readonly downtimeMs?: number;
}

/**
 * Polls /health every 50 ms while `work` runs, until the URL answers again,
 * and returns how long it did not answer: what a client of that URL saw.
 */
async function measureDowntime(url: string, work: () => Promise<void>): Promise<number> {
  const sleep = () => new Promise((r) => setTimeout(r, 50));
  let running = true;
  let downSince: number | undefined;
  let downtime = 0;
  const poller = (async () => {
    while (running) {
      const ok = await answers(url, "/health");
      const now = performance.now();
      if (!ok && downSince === undefined) downSince = now;
      if (ok && downSince !== undefined) {
        downtime += now - downSince;
        downSince = undefined;
      }
      await sleep();
    }
  })();
  try {
    await work();
    const deadline = performance.now() + 30_000;
    while (downSince !== undefined && performance.now() < deadline) await sleep();
  } finally {
    running = false;
    await poller;
  }
  return Math.round(downtime);
}

/**
 * The app container standing in for the Fargate service. Kept when it already
 * runs this image. Otherwise the old one is stopped and the new one started on
 * the same 127.0.0.1 port: one container and no load balancer, so the URL is
 * briefly unavailable, and that time is measured and returned.
 */
export async function ensureAppContainer(
  prefix: string,
  image: string,
  env: Record<string, string>,
): Promise<AppContainer> {
  const apps = (await findRehearsal(prefix)).filter((c) => c.role === "app");
  const same = apps.find((c) => c.running && c.image === image && c.url);
  if (same?.url && (await answers(same.url, "/health"))) return { url: same.url, id: same.id, reused: true };

  const start = (hostPort?: number): Promise<RunningContainer> =>
    startContainer({
      image,
      port: 8080,
      ...(hostPort ? { hostPort } : {}),
      runId: rehearsalRunId(prefix),
      env,
      labels: { [REHEARSAL_LABEL]: prefix, [ROLE_LABEL]: "app" },
      wait: Wait.forHttp("/health", 8080).forStatusCode(200),
    });

  const previous = apps.find((c) => c.running && c.url);
  if (!previous?.url) {
    await removeContainers(apps.map((c) => c.id));
    const started = await start();
    return { url: started.url, id: started.id, reused: false };
  }
  const url = previous.url;
  let started: RunningContainer | undefined;
  const downtimeMs = await measureDowntime(url, async () => {
    await removeContainers(apps.map((c) => c.id));
    started = await start(Number(new URL(url).port));
  });
  return { url, id: (started as RunningContainer).id, reused: false, downtimeMs };
}
