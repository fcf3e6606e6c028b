// The local rehearsal's containers: the emulator, the registry, the builds,
// the load balancer's proxy and the service's tasks, labelled with the prefix
// and their role so a re-run finds and reuses them and teardown finds and
// removes them, even after the process that started them has gone.
import { connectDocker, removeContainers } from "./client.ts";
import { REHEARSAL_LABEL, ROLE_LABEL, RUN_LABEL } from "./labels.ts";
import { probe } from "../../probe.ts";

export type RehearsalRole = "emulator" | "registry" | "build" | "proxy" | "task";

/** Labels that tie a container to this prefix's rehearsal and say what it stands in for. */
export function rehearsalLabels(prefix: string, role: RehearsalRole): Record<string, string> {
  return { [REHEARSAL_LABEL]: prefix, [ROLE_LABEL]: role, [RUN_LABEL]: rehearsalRunId(prefix) };
}

export interface RehearsalContainer {
  readonly id: string;
  readonly role: RehearsalRole;
  readonly image: string;
  readonly running: boolean;
  /** http://127.0.0.1:<published port>, when running. */
  readonly url?: string;
  readonly labels: Readonly<Record<string, string>>;
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
      role: (c.Labels[ROLE_LABEL] ?? "task") as RehearsalRole,
      image: c.Image,
      running: c.State === "running",
      labels: c.Labels,
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
