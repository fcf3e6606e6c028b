// Lesson 07: alarms on what users feel, a notification for every change, a dashboard.
import { CloudWatchClient, DescribeAlarmsCommand, GetDashboardCommand } from "@aws-sdk/client-cloudwatch";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { check } from "../setup/checks/07-watch-it.ts";
import { lesson } from "../setup/lesson.ts";
import { describeStack } from "../setup/lib/aws/stacks.ts";
import { emulatorClient } from "../setup/lib/local/emulator/clients.ts";
import { useEmulator } from "./support/emulator.ts";
import { useLesson } from "./support/lesson.ts";

const fixture = useEmulator();
const prefix = "lesson-07";
const h = useLesson(fixture, prefix);

describe("lesson 07: watch it", { timeout: 300_000 }, () => {
  it("is not done after bin/lesson 07 --prepare (lessons 01-04 run, all it needs): no monitoring stack yet", async () => {
    expect(await h.prepareFor("07"), h.narration).toEqual(["01", "02", "03", "04"]);
    expect(await check(h.checkContext())).toEqual({
      pass: false,
      message: "There is no stack lesson-07-monitoring yet. Run `bin/lesson 07`.",
    });
  });

  it("refuses an --email that is not an address, before anything is made (exit 2)", async () => {
    expect(await lesson(["07", "--prefix", prefix, "--email", "not-an-address"], h.env(), { output: h.output })).toBe(
      2,
    );
    expect(h.narration).toMatch(/--email "not-an-address" is not an email address/);
    expect(await describeStack(h.checkContext().aws.cfn, `${prefix}-monitoring`)).toBeUndefined();
  });

  it("is done after bin/lesson 07: the alarm went off and cleared, both notifications in the inbox", async () => {
    const code = await lesson(["07", "--prefix", prefix, "--email", "learner@example.com"], h.env(), {
      output: h.output,
    });
    expect(code, h.narration).toBe(0);
    const result = await check(h.checkContext());
    expect(result.pass, result.message).toBe(true);
    const narration = h.narration.slice(h.narration.indexOf("Step 07 · Lesson"));
    // The latency alarm's whole story, in order, each change said once.
    const story = [...narration.matchAll(/lesson-07-latency-p90: (\w+) → (\w+)\./g)].map((m) => `${m[1]}→${m[2]}`);
    expect(story).toEqual(["INSUFFICIENT_DATA→OK", "OK→ALARM", "ALARM→OK"]);
    expect(narration).toContain("The rehearsal records learner@example.com's subscription; nothing is mailed");
    const cw = emulatorClient(CloudWatchClient, fixture.config.aws);
    expect(
      (await cw.send(new DescribeAlarmsCommand({ AlarmNames: ["lesson-07-latency-p90"] }))).MetricAlarms?.[0]
        ?.StateValue,
    ).toBe("OK");
    expect((await cw.send(new GetDashboardCommand({ DashboardName: "lesson-07-app" }))).DashboardBody).toContain(
      "TargetResponseTime",
    );

    // The dashboard drawn from the lesson's metric data, where the narration says.
    const png = /dashboard drawn \(([^)]*)\): (\S+\.png)/.exec(narration);
    expect(png?.[2], narration).toBe(join(process.env.LAB_PICTURES_DIR ?? "", "lesson-07-app.png"));
    expect((await readFile(png?.[2] ?? "")).subarray(1, 4).toString("latin1")).toBe("PNG");
    const svg = await readFile(join(process.env.LAB_PICTURES_DIR ?? "", "lesson-07-app.svg"), "utf8");
    const points = (series: string) =>
      [
        ...svg.matchAll(
          /aria-label="time: [^"]*; value: ([^;"]*); series: ([^"]*)" role="graphics-symbol" aria-roledescription="point"/g,
        ),
      ]
        .filter((m) => m[2] === series)
        .map((m) => Number(m[1]));
    // The slow requests are in the p90 graph (above the 1 s threshold), beside the fast ones before them.
    expect(Math.max(...points("p90"))).toBeGreaterThan(1);
    expect(Math.min(...points("p90"))).toBeLessThan(1);
    // The emulator answered the plain statistics: requests every period with traffic, healthy tasks every period.
    expect(points("requests").length).toBeGreaterThanOrEqual(3);
    expect(points("healthy").every((n) => n === 2)).toBe(true);
    // The ALB publishes no zero counts: no 5xx, no points (the graph says there is no data).
    expect(points("5xx")).toEqual([]);
    expect(svg).toContain(">lesson-07-latency-p90</text>");
  });
});
