// A pipeline run's stages as a display is told of them.
import { describe, expect, it } from "vitest";
import { type StageLine, stageUpdates } from "../setup/lib/ui/pipeline-progress.ts";

const states = (...statuses: string[]): StageLine[] =>
  ["Source", "TestAndBuild", "Deploy"].map((name, i) => ({ name, status: statuses[i] ?? "Waiting" }));

const sequence = [
  states("InProgress"),
  states("Succeeded"),
  states("Succeeded", "InProgress"),
  states("Succeeded", "InProgress"),
  states("Succeeded", "Succeeded"),
  states("Succeeded", "Succeeded", "InProgress"),
  states("Succeeded", "Succeeded", "Failed"),
];

describe("stage updates", () => {
  it("in a log: one line per stage that ended, in order", () => {
    const shown: string[] = [];
    const update = stageUpdates(false, "demo-pipeline", (l) => shown.push(l));
    for (const s of sequence) update("54992212-aaaa", s);
    expect(shown).toEqual([
      "demo-pipeline 54992212: Source Succeeded → TestAndBuild Waiting → Deploy Waiting",
      "demo-pipeline 54992212: Source Succeeded → TestAndBuild Succeeded → Deploy Waiting",
      "demo-pipeline 54992212: Source Succeeded → TestAndBuild Succeeded → Deploy Failed",
    ]);
  });

  it("in a log: no line for a run whose every stage succeeded (the run's end line says it)", () => {
    const shown: string[] = [];
    const update = stageUpdates(false, "demo-pipeline", (l) => shown.push(l));
    update("54992212-aaaa", states("Succeeded", "Succeeded"));
    update("54992212-aaaa", states("Succeeded", "Succeeded", "Succeeded"));
    expect(shown).toEqual(["demo-pipeline 54992212: Source Succeeded → TestAndBuild Succeeded → Deploy Waiting"]);
  });

  it("in a log: a new run (restarted) starts counting again", () => {
    const shown: string[] = [];
    const update = stageUpdates(false, "demo-pipeline", (l) => shown.push(l));
    update("aaaaaaaa-1", states("Succeeded", "Failed"));
    update("bbbbbbbb-2", states("Succeeded"));
    expect(shown.map((l) => l.split(":")[0])).toEqual(["demo-pipeline aaaaaaaa", "demo-pipeline bbbbbbbb"]);
  });

  it("on a terminal: every change (the spinner redraws its one line)", () => {
    const shown: string[] = [];
    const update = stageUpdates(true, "demo-pipeline", (l) => shown.push(l));
    for (const s of sequence) update("54992212-aaaa", s);
    expect(shown).toHaveLength(sequence.length);
  });
});
