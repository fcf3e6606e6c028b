// Ctrl-C at every moment of lesson 06 that matters, its failing paths
// included, then the same command again: the failing deployment, its circuit
// breaker's rollback, the service stack's CloudFormation rollback, and the
// revert's release. Each interruption is a real SIGINT, raised the moment the
// narration shows that moment (inside the write, so nothing happens in
// between); each run must end with exit 130 and the one-line advice, the
// re-run with exit 0 and exactly the service's desired tasks of the wanted
// revision, all serving; teardown then leaves nothing.
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lesson } from "../setup/lesson.ts";
import { listTasks, taskName } from "../setup/lib/local/ecs/service.ts";
import { checkReports } from "../setup/lib/local/elbv2/haproxy.ts";
import {
  loadBalancerUrl,
  removeTaskNetwork,
  runningProxy,
  runtimeApi,
} from "../setup/lib/local/elbv2/load-balancer.ts";
import { findRehearsal } from "../setup/lib/local/engine/rehearsal.ts";
import { runTeardown } from "../setup/teardown.ts";
import { useEmulator } from "../lessons/support/emulator.ts";
import { useLesson } from "../lessons/support/lesson.ts";
import { probe } from "../setup/lib/probe.ts";

const fixture = useEmulator();
const prefix = "resume-06";
const h = useLesson(fixture, prefix);

/** Narration kept, and a Ctrl-C raised (once) as soon as it shows `at` after `after`. */
function interruptingOutput(at: RegExp, after: RegExp) {
  let text = "";
  let sent = false;
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      const from = text.search(after);
      if (!sent && from >= 0 && at.test(text.slice(from))) {
        sent = true;
        process.emit("SIGINT");
      }
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  return { stream, text: () => text, sent: () => sent };
}

/** The load balancer stand-in's targets as its runtime API reports them: id → HAProxy's status. */
async function targetStatuses(): Promise<Map<string, string>> {
  const proxy = await runningProxy(prefix);
  if (!proxy) throw new Error("the load balancer stand-in does not run");
  return new Map(checkReports(await runtimeApi(proxy.apiPort, "show stat")).map((r) => [r.id, r.status]));
}

/** The service now: its running tasks' revisions, each task's target status, and what /time answers. */
async function service(): Promise<{ tasks: number; revisions: number; targets: string[]; serving: unknown }> {
  const tasks = (await listTasks(prefix)).filter((t) => t.running);
  const targets = await targetStatuses();
  return {
    tasks: tasks.length,
    revisions: new Set(tasks.map((t) => t.revision)).size,
    // Every task registered, healthy (UP), and no target left over.
    targets: [...targets.keys()].sort().map((id) => `${id} ${targets.get(id)}`),
    serving: (await probe<{ message?: string }>(`${await loadBalancerUrl(prefix)}/time`)).json?.message,
  };
}

beforeAll(async () => {
  expect(await h.prepareFor("06"), h.narration).toEqual(["01", "02", "03", "04"]);
}, 300_000);

afterAll(async () => {
  // Teardown removes everything the runs made, interrupted ones included.
  expect(await runTeardown(["--prefix", prefix, "--target", "local"], h.env(), { output: h.output })).toBe(0);
  expect((await findRehearsal(prefix)).filter((c) => c.role !== "emulator")).toEqual([]);
  expect(await removeTaskNetwork(prefix)).toBe(false);
}, 120_000);

describe("lesson 06 interrupted, then run again", { timeout: 300_000 }, () => {
  const broken = /What CI\/CD is most for/;
  it.each([
    ["its failing deployment's tasks started", /has started 2 tasks/, broken, true],
    ["its circuit breaker's rollback", /rolling back to the deployment that ran/, broken, false],
    ["the service stack's CloudFormation rollback", /UPDATE_ROLLBACK_IN_PROGRESS/, broken, false],
    ["the revert's release", /report lab-app-tests/, /The fix is a revert/, false],
  ])(
    "at %s: exit 130, and the re-run ends with the revert serving on exactly two tasks",
    async (_moment, at, after, adopts) => {
      const running = (await probe<{ message?: string }>(`${await loadBalancerUrl(prefix)}/time`)).json?.message;
      const out = interruptingOutput(at, after);
      const code = await lesson(["06", "--prefix", prefix], h.env(), { output: out.stream });
      expect(out.sent(), out.text()).toBe(true);
      expect(code, out.text()).toBe(130);
      expect(out.text()).toMatch(/Interrupted\.[\s\S]*run the same command again/);

      const before = h.narration.length;
      const again = await lesson(["06", "--prefix", prefix], h.env(), { output: h.output });
      expect(again, h.narration).toBe(0);
      const rerun = h.narration.slice(before);
      if (adopts) {
        // The failing tasks the interrupted run started count against the breaker at once (their grace is over).
        const left = [...out.text().matchAll(/has started 2 tasks: \(task (\w+)\) \(task (\w+)\)/g)].at(-1);
        expect(rerun).toContain(`(task ${left?.[1]}): Task failed ELB health checks`);
        expect(rerun).toContain(`(task ${left?.[2]}): Task failed ELB health checks`);
      }
      const now = await service();
      const ids = (await listTasks(prefix)).filter((t) => t.running).map((t) => `${taskName(t.id)} UP`);
      expect(now).toEqual({ tasks: 2, revisions: 1, targets: ids.sort(), serving: running });
    },
  );
});
