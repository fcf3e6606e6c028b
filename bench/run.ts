// npm run bench: loads the app in its container and a bare node:http server
// answering the same /time JSON, in the same run, with wrk at 64 connections;
// writes requests/s, p50/p99 and their ratio to docs/benchmarks.md.
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createServer } from "node:net";
import { join } from "node:path";
import { $ } from "zx";
import { readImages } from "../setup/lib/config.ts";
import { buildImage } from "../setup/lib/local/engine/build.ts";
import { REGISTRY_VOLUME } from "../setup/lib/local/ecr/registry.ts";
import { startHostNetworkContainer } from "../setup/lib/local/engine/containers.ts";
import {
  connectDocker,
  newRunId,
  removeLabelledContainers,
  useRyukIfAvailable,
} from "../setup/lib/local/engine/client.ts";
import { measureReleases } from "./releases.ts";
import { timeRehearsal } from "./rehearsal.ts";
import { waitForHealthy } from "../setup/lib/verify.ts";
import { machine, writeSection } from "./report.ts";
import { readNumbers, writeNumbers } from "../docs/numbers.ts";
import { type WrkResult, wrk } from "./wrk.ts";
import { CLOUDWATCH_SPEEDUP } from "../setup/lib/local/clock.ts";
import { CANARY } from "../setup/lib/changes/canary-template.ts";
import { STEPS } from "../setup/steps.ts";

const root = join(import.meta.dirname, "..");
const CONNECTIONS = 64;
const WARMUP_S = 2;
const MEASURE_S = 8;
const ROUNDS = 3;
const GOAL_RATIO = 0.4;
const GOAL_P99_MS = 15;

const say = (line: string) => process.stderr.write(`[bench] ${line}\n`);

async function freePort(): Promise<number> {
  const probe = createServer().listen(0, "127.0.0.1");
  await once(probe, "listening");
  const { port } = probe.address() as { port: number };
  probe.close();
  return port;
}

async function measure(label: string, url: string, script?: string): Promise<WrkResult> {
  await waitForHealthy(new URL(url).origin, { maxWaitSeconds: 10 });
  await wrk({ url, connections: CONNECTIONS, seconds: WARMUP_S, ...(script ? { script } : {}) });
  const result = await wrk({ url, connections: CONNECTIONS, seconds: MEASURE_S, ...(script ? { script } : {}) });
  say(
    `${label}: ${Math.round(result.requestsPerSecond)} req/s, p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, errors ${result.errors}`,
  );
  if (result.errors > 0)
    throw new Error(`${label}: ${result.errors} failed requests; the numbers would be meaningless`);
  return result;
}

/** The run with the median requests/s (its latencies come with it). */
function median(results: WrkResult[]): WrkResult {
  const sorted = [...results].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond);
  const middle = sorted[Math.floor(sorted.length / 2)];
  if (!middle) throw new Error("no measurements");
  return middle;
}

async function imageBytes(image: string): Promise<number> {
  return Number((await $({ quiet: true })`docker image inspect --format {{.Size}} ${image}`).stdout.trim());
}

async function main(): Promise<void> {
  await $({ quiet: true })`wrk --version`.nothrow().then((r) => {
    if (!/^wrk /m.test(r.stdout + r.stderr))
      throw new Error("wrk is not installed: `apt-get install wrk` (or `bash .ci/provision`)");
  });
  const images = readImages(process.env);
  const docker = await connectDocker();
  await useRyukIfAvailable(docker, process.env);
  const runId = newRunId("bench");
  const appImage = "lab-app:bench";

  say(`building ${appImage} on ${images.node}`);
  await buildImage(join(root, "code"), { t: appImage, buildargs: { NODE_IMAGE: images.node, APP_VERSION: "bench" } });
  const addedMb = ((await imageBytes(appImage)) - (await imageBytes(images.node))) / 1e6;

  const secret = randomBytes(48).toString("base64");
  const ports = { bare: await freePort(), app: await freePort(), silent: await freePort() };
  try {
    // All three servers run for the whole benchmark (an idle one costs
    // nothing); measuring them in alternating rounds and keeping each one's
    // median round evens out a shared machine's drift.
    const appEnv = (port: number, level: string) => ({
      PORT: String(port),
      HOST: "127.0.0.1",
      JWT_SECRET: secret,
      LOG_LEVEL: level,
    });
    await startHostNetworkContainer({
      image: images.node,
      runId,
      env: { PORT: String(ports.bare), HOST: "127.0.0.1" },
      command: ["node", "/bench/bare-server.mjs"],
      files: [[join(import.meta.dirname, "bare-server.mjs"), "/bench/bare-server.mjs"]],
    });
    await startHostNetworkContainer({ image: appImage, runId, env: appEnv(ports.app, "info") });
    await startHostNetworkContainer({ image: appImage, runId, env: appEnv(ports.silent, "silent") });

    const targets = {
      bare: { label: "bare node:http /time", url: `http://127.0.0.1:${ports.bare}/time` },
      app: { label: "app /time (logging on)", url: `http://127.0.0.1:${ports.app}/time` },
      silent: { label: "app /time (LOG_LEVEL=silent)", url: `http://127.0.0.1:${ports.silent}/time` },
      auth: {
        label: "app POST /auth + GET /contents",
        url: `http://127.0.0.1:${ports.app}/auth`,
        script: join(import.meta.dirname, "auth-pair.lua"),
      },
    };
    const runs: Record<keyof typeof targets, WrkResult[]> = { bare: [], app: [], silent: [], auth: [] };
    for (let round = 1; round <= ROUNDS; round++) {
      say(`round ${round} of ${ROUNDS}`);
      for (const key of Object.keys(targets) as Array<keyof typeof targets>) {
        const t = targets[key];
        runs[key].push(await measure(t.label, t.url, "script" in t ? t.script : undefined));
      }
    }
    const bareTime = median(runs.bare);
    const appTime = median(runs.app);
    const appSilent = median(runs.silent);
    const appAuth = median(runs.auth);
    const ratio = appTime.requestsPerSecond / bareTime.requestsPerSecond;
    const verdict = (ok: boolean) => (ok ? "met" : "**not met**");
    const row = (name: string, r: WrkResult, unit = "") =>
      `| ${name} | ${Math.round(r.requestsPerSecond).toLocaleString("en")}${unit} | ${r.p50Ms.toFixed(2)} | ${r.p99Ms.toFixed(2)} | ${r.requests.toLocaleString("en")} |`;
    const nodeVersion = (await $({ quiet: true })`docker run --rm ${images.node} node --version`).stdout.trim();
    const body = [
      "## App throughput (`npm run bench`)",
      "",
      `Measured ${new Date().toISOString().slice(0, 10)} on ${machine()}; Node ${nodeVersion} in \`${images.node}\`; wrk, 1 thread, ${CONNECTIONS} connections, ${MEASURE_S} s after a ${WARMUP_S} s warm-up, ${ROUNDS} alternating rounds; each row is that server's median round.`,
      "Servers run in containers on the host's network and listen on 127.0.0.1 (Docker's userland proxy in front of a published port would cost more than the server under test).",
      "",
      "| server and route | requests/s | p50 ms | p99 ms | requests |",
      "|---|---:|---:|---:|---:|",
      row("bare `node:http`, `GET /time`", bareTime),
      row("app, `GET /time`, request log on (`LOG_LEVEL=info`)", appTime),
      row("app, `GET /time`, request log off (`LOG_LEVEL=silent`)", appSilent),
      row("app, `POST /auth` + `GET /contents` (each request counted)", appAuth),
      "",
      `- app \`/time\` with logging on ÷ bare node:http: **${(ratio * 100).toFixed(0)}%** (goal ≥ ${GOAL_RATIO * 100}%: ${verdict(ratio >= GOAL_RATIO)}); p99 ${appTime.p99Ms.toFixed(2)} ms (goal ≤ ${GOAL_P99_MS} ms: ${verdict(appTime.p99Ms <= GOAL_P99_MS)}).`,
      `- sign-in-and-read pairs: about ${Math.round(appAuth.requestsPerSecond / 2).toLocaleString("en")} per second.`,
      `- the app adds ${addedMb.toFixed(1)} MB to the base image (\`${appImage}\` minus \`${images.node}\`).`,
      "- every request answered 2xx; a run with any failed request is refused.",
    ].join("\n");
    await writeSection(join(root, "docs", "benchmarks.md"), "app", body);
    say(`ratio ${(ratio * 100).toFixed(0)}%, p99 ${appTime.p99Ms} ms; written to docs/benchmarks.md`);
  } finally {
    await removeLabelledContainers(docker, runId);
  }
}

const REHEARSAL_ROUNDS = 3;
/** Goals: a warm rehearsal (images and build cache present) and a cold one (images present, no build cache). */
const WARM_GOAL_S = 30;
const COLD_GOAL_S = 90;

async function rehearsal(): Promise<void> {
  say("timing the local rehearsal: one cold round (build cache pruned), then " + REHEARSAL_ROUNDS + " warm rounds");
  // Cold: what a learner's first run costs once `npm run images` is done. This empties the engine's whole
  // build cache and the local registry's layer store.
  await $({ quiet: true })`docker builder prune --all --force`;
  await $({ quiet: true })`docker volume rm ${REGISTRY_VOLUME}`.nothrow();
  const cold = await timeRehearsal("bench");
  say(`cold round: ${cold.total.toFixed(1)} s`);
  const rounds = [];
  for (let i = 1; i <= REHEARSAL_ROUNDS; i++) {
    // The same prefix again, as a learner's next run: its repository's layers are in the registry already.
    const t = await timeRehearsal("bench");
    say(`round ${i}: run ${t.run.toFixed(1)} s + teardown ${t.teardown.toFixed(1)} s = ${t.total.toFixed(1)} s`);
    rounds.push(t);
  }
  const median = [...rounds].sort((a, b) => a.total - b.total)[Math.floor(rounds.length / 2)];
  if (!median) throw new Error("no rounds");
  const cell = (n: number | undefined) => (n === undefined ? "–" : n.toFixed(1));
  const through05 = (t: { steps: Record<string, number> }) =>
    STEPS.filter((s) => s.id <= "05").reduce((sum, s) => sum + (t.steps[s.id] ?? 0), 0);
  const before07 = (t: { total: number; steps: Record<string, number> }) =>
    t.total - (t.steps["07"] ?? 0) - (t.steps["08"] ?? 0);
  const verdict = (seconds: number, goal: number) => `goal ≤ ${goal} s: ${seconds <= goal ? "met" : "**not met**"}`;
  const body = [
    "## Local rehearsal (`npm run bench`)",
    "",
    `Measured ${new Date().toISOString().slice(0, 10)} on ${machine()}: \`bin/run --keep\` then \`bin/teardown\`, all images present, prefix \`bench\`. Cold: the Docker engine's build cache and the local registry's layer store emptied first (a first run on a machine). Warm: ${REHEARSAL_ROUNDS} more rounds with the same prefix, the median round. In seconds.`,
    "",
    "| step | cold | warm |",
    "|---|---:|---:|",
    ...STEPS.map(
      (step) =>
        `| ${step.id} ${step.title.toLowerCase()} | ${cell(cold.steps[step.id])} | ${cell(median.steps[step.id])} |`,
    ),
    `| bin/run in all (emulator start included) | ${cell(cold.run)} | ${cell(median.run)} |`,
    `| bin/teardown | ${cell(cold.teardown)} | ${cell(median.teardown)} |`,
    `| **total** | **${cell(cold.total)}** | **${cell(median.total)}** |`,
    "",
    `- cold, steps 01–05 (the sum of their times; the goal was set before step 06): ${cell(through05(cold))} s, ${verdict(through05(cold), COLD_GOAL_S)}. Cold, everything: ${cell(cold.total)} s.`,
    `- warm, steps 01–06 and teardown (the goal was set before step 07): ${cell(before07(median))} s, ${verdict(before07(median), WARM_GOAL_S)}; everything: rounds ${rounds.map((r) => r.total.toFixed(1)).join(", ")} s; steps 01–08 ${cell(median.total - median.teardown)} s (lesson 08's goal for them was ≤ 45 s: ${median.total - median.teardown <= 45 ? "met" : "**not met**"}).`,
    `- step 07 waits for CloudWatch's periods by design (each 60 s period lasts ${60 / CLOUDWATCH_SPEEDUP} s here): fast requests until the alarm has data, slow ones until 2 of 3 periods breach, quiet ones until it clears; lesson 07's goal of ≤ 10 s: ${median.steps["07"] !== undefined && median.steps["07"] <= 10 ? "met" : "**not met**"}.`,
    `- step 08 ships three releases through the whole pipeline (the template's change to a canary, the slow release its alarm rolls back, the fix), with canary bakes of ${(CANARY.canaryBakeMinutes * 60) / CLOUDWATCH_SPEEDUP} s and final bakes of ${(CANARY.bakeMinutes * 60) / CLOUDWATCH_SPEEDUP} s here; lesson 08's goal of ≤ 20 s: ${median.steps["08"] !== undefined && median.steps["08"] <= 20 ? "met" : "**not met**"}.`,
    "- steps 04 and 05 each run the whole pipeline as defined: in the TestAndBuild stage, side by side in two build containers, the tests (the Dockerfile's test stage: `npm ci`, lint, unit tests) and the image build (the image's stages, a push to the local registry); then the Deploy stage's stack update. Warm, BuildKit reuses the layers of an unchanged source.",
  ].join("\n");
  await writeSection(join(root, "docs", "benchmarks.md"), "rehearsal", body);
  // The lesson cards and the instructor's table read the same numbers (docs/numbers.ts).
  const numbers = await readNumbers();
  const steps: Record<string, { cold: number; warm: number }> = {};
  const round1 = (n: number | undefined) => Math.round((n ?? 0) * 10) / 10;
  for (const step of STEPS) steps[step.id] = { cold: round1(cold.steps[step.id]), warm: round1(median.steps[step.id]) };
  steps.teardown = { cold: round1(cold.teardown), warm: round1(median.teardown) };
  const measured = `${new Date().toISOString().slice(0, 10)} on ${machine()}`;
  await writeNumbers({ ...numbers, rehearsal: { measured, steps } });
  say(
    `rehearsal: cold ${cold.total.toFixed(1)} s, warm median ${median.total.toFixed(1)} s; written to docs/benchmarks.md and docs/numbers.json (the lesson cards)`,
  );
}

const RELEASES = 20;

/** AWS's rollout, worked out from infra/service.yaml for two tasks (see the section's text). */
const AWS_ROLLOUT_ESTIMATE = "about 1 minute";

async function releases(): Promise<void> {
  say(`shipping ${RELEASES} changes in a row through the local rehearsal`);
  const measures = await measureReleases("bench-rel", RELEASES, say);
  const sorted = (values: number[]) => [...values].sort((a, b) => a - b);
  const rollouts = sorted(measures.map((m) => m.rolloutSeconds));
  const whole = sorted(measures.map((m) => m.releaseSeconds));
  const mid = (values: number[]) => values[Math.floor(values.length / 2)] ?? 0;
  const failedReleases = measures.filter((m) => m.failed > 0).length;
  const body = [
    "## Releases in a row (`npm run bench -- releases`)",
    "",
    `Measured ${new Date().toISOString().slice(0, 10)} on ${machine()}: the rehearsal up to step 04, then ${RELEASES} releases in a row (step 05 with a new \`/time\` message each), each counted by the traffic counter through the load balancer stand-in's listener.`,
    "",
    "| | median | max |",
    "|---|---:|---:|",
    `| rolling deployment (new tasks started → old ones stopped → steady), local | ${mid(rollouts).toFixed(1)} s | ${(rollouts.at(-1) ?? 0).toFixed(1)} s |`,
    `| whole release (pipeline and rollout), local | ${mid(whole).toFixed(1)} s | ${(whole.at(-1) ?? 0).toFixed(1)} s |`,
    "",
    `- failed requests: ${measures.map((m) => m.failed).join(", ")} (requests per release: ${measures.map((m) => m.requests).join(", ")}); releases with any failed request: **${failedReleases}** (goal 0).`,
    `- on AWS the same rollout takes ${AWS_ROLLOUT_ESTIMATE}, estimated from \`infra/service.yaml\`: two new Fargate tasks pull and start (~30 s), pass 2 health checks 5 s apart (~10 s), the old targets drain (deregistration delay, up to 10 s) and stop; locally ECS's and the load balancer's timers run 10× faster, but pulling and starting a container is not sped up.`,
  ].join("\n");
  await writeSection(join(root, "docs", "benchmarks.md"), "releases", body);
  say(
    `releases: rollout median ${mid(rollouts).toFixed(1)} s, max ${(rollouts.at(-1) ?? 0).toFixed(1)} s; ${failedReleases} with a failed request`,
  );
  if (failedReleases > 0) process.exitCode = 1;
}

// `npm run bench -- app`, `-- rehearsal` or `-- releases` runs one part; no argument runs all.
const part = process.argv[2];
try {
  if (part === undefined || part === "app") await main();
  if (part === undefined || part === "rehearsal") await rehearsal();
  if (part === undefined || part === "releases") await releases();
} catch (error) {
  say(`failed: ${(error as Error).message}`);
  process.exitCode = 1;
}
