// The latency chart lesson 07 prints on a terminal: a line from zero, the
// threshold flat across it, and nothing when there is no line to draw.
import { describe, expect, it } from "vitest";
import { terminalChart } from "../setup/lib/ui/terminal-chart.ts";

const ESC = String.fromCharCode(27);

describe("terminalChart", () => {
  it("draws the values from zero with the threshold as a flat line", () => {
    const lines = terminalChart({ values: [0.05, 0.05, 2, 2], threshold: 1, unit: " s", height: 4 });
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatch(/^\s*2\.00 s /);
    expect(lines.at(-1)).toMatch(/^\s*0\.00 s /);
    // The threshold's row: 1.00 s, flat across every column of the plot.
    const threshold = lines.find((l) => /^\s*1\.00 s /.test(l)) ?? "";
    expect(threshold.replace(/^\s*1\.00 s\s+/, "")).toMatch(/^[┼┤]─+/);
    expect(lines.join("\n")).not.toContain(ESC);
  });

  it("colours the threshold only when asked", () => {
    expect(terminalChart({ values: [1, 2], threshold: 1.5, color: true }).join("\n")).toContain(`${ESC}[31m`);
  });

  it("draws nothing from fewer than two values", () => {
    expect(terminalChart({ values: [2], threshold: 1 })).toEqual([]);
    expect(terminalChart({ values: [] })).toEqual([]);
  });
});
