// The narration's spinners (setup/lib/ui/narrator.ts): no wait stays silent.
// Without a terminal every update is a line (the label only once something
// comes under it), and a spinner with nothing new to say repeats what it waits
// for, with the time waited, every HEARTBEAT_MS.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { narrationSink } from "../lessons/support/narration-sink.ts";
import { createNarrator, HEARTBEAT_MS } from "../setup/lib/ui/narrator.ts";

const sink = narrationSink();
const lines = () => sink.text().trimEnd().split("\n");

beforeEach(() => {
  vi.useFakeTimers();
  sink.clear();
});
afterEach(() => vi.useRealTimers());

describe("a spinner without a terminal", () => {
  it("says again what it waits for after ten seconds without a word, with the time waited", () => {
    const ui = createNarrator({ tty: false, color: false, stream: sink.output, out: sink.output });
    const spinner = ui.spin("waiting for the run of demo-pipeline");
    vi.advanceTimersByTime(HEARTBEAT_MS + 1_000);
    vi.advanceTimersByTime(HEARTBEAT_MS);
    expect(lines()).toEqual([
      "…  waiting for the run of demo-pipeline (still waiting, 10 s)",
      "…  waiting for the run of demo-pipeline (still waiting, 20 s)",
    ]);
    spinner.succeed("demo-pipeline: run succeeded");
    vi.advanceTimersByTime(5 * HEARTBEAT_MS);
    expect(lines().at(-1)).toBe("✓  demo-pipeline: run succeeded");
    expect(lines()).toHaveLength(3);
  });

  it("writes its label only when something comes under it: a quick wait is one line", () => {
    const ui = createNarrator({ tty: false, color: false, stream: sink.output, out: sink.output });
    ui.spin("committing the change").succeed("uploaded source.zip, version s3-1");
    const pipeline = ui.spin("demo-pipeline: starting");
    pipeline.update("demo-pipeline 1a2b3c4d: Source Succeeded → Deploy Waiting");
    pipeline.log("report lab-app-tests: 3 test cases: 3 passed, 0 failed, 0 skipped");
    pipeline.succeed("demo-pipeline: run 1a2b3c4d succeeded");
    const deleting = ui.spin("deleting demo-service");
    deleting.log("✓ stack demo-service (DELETE_COMPLETE)");
    deleting.fail("deleting demo-service: failed");
    expect(lines()).toEqual([
      "✓  uploaded source.zip, version s3-1",
      "…  demo-pipeline 1a2b3c4d: Source Succeeded → Deploy Waiting",
      "   report lab-app-tests: 3 test cases: 3 passed, 0 failed, 0 skipped",
      "✓  demo-pipeline: run 1a2b3c4d succeeded",
      "…  deleting demo-service",
      "   ✓ stack demo-service (DELETE_COMPLETE)",
      "✗  deleting demo-service: failed",
    ]);
  });

  it("stays quiet while it has news: an update or a line resets the ten seconds", () => {
    const ui = createNarrator({ tty: false, color: false, stream: sink.output, out: sink.output });
    const spinner = ui.spin("Source: InProgress");
    for (let i = 0; i < 3; i += 1) {
      vi.advanceTimersByTime(HEARTBEAT_MS - 2_000);
      spinner.log(`build line ${i}`);
    }
    vi.advanceTimersByTime(HEARTBEAT_MS - 2_000);
    spinner.update("Source: Succeeded, TestAndBuild: InProgress");
    vi.advanceTimersByTime(HEARTBEAT_MS - 2_000);
    expect(lines().some((l) => l.includes("still waiting"))).toBe(false);
    vi.advanceTimersByTime(3_000);
    expect(lines().at(-1)).toMatch(/^… {2}Source: Succeeded, TestAndBuild: InProgress \(still waiting, \d+ s\)$/);
    spinner.fail("the run did not succeed");
  });
});
