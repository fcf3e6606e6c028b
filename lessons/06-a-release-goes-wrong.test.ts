// Lesson 06: a release that cannot serve is stopped by the health checks and
// the circuit breaker, rolled back while users are served, then reverted.
import { describe, expect, it } from "vitest";
import { check } from "../setup/checks/06-a-release-goes-wrong.ts";
import { lesson } from "../setup/lesson.ts";
import { SOURCE_KEY } from "../setup/lib/aws/naming.ts";
import { withLoopbackOnly } from "../setup/lib/changes/source-changes.ts";
import { collectSource, uploadSourceZip } from "../setup/lib/aws/source.ts";
import { CODE_DIR } from "../setup/lib/context.ts";
import { templateFile } from "../setup/lib/aws/naming.ts";
import { findRehearsal } from "../setup/lib/local/engine/rehearsal.ts";
import { useEmulator } from "./support/emulator.ts";
import { useLesson } from "./support/lesson.ts";

const fixture = useEmulator();
const prefix = "lesson-06";
const h = useLesson(fixture, prefix);
const bucket = `${prefix}-artifacts-123456789012-us-east-1`;

describe("lesson 06: a release that goes wrong", { timeout: 300_000 }, () => {
  it("is not done after bin/lesson 06 --prepare (lessons 01-04 run, all it needs): no deployment has failed yet", async () => {
    expect(await h.prepareFor("06"), h.narration).toEqual(["01", "02", "03", "04"]);
    expect(h.narration).toContain("Ready for lesson 06");
    expect(await check(h.checkContext())).toEqual({
      pass: false,
      message: "The service has no failed deployment in its events yet. Run `bin/lesson 06`.",
    });
  });

  it("fails while the broken version is the source but not what serves", async () => {
    const { aws } = h.checkContext();
    const broken = withLoopbackOnly(await collectSource(CODE_DIR, templateFile("service")));
    const uploaded = await uploadSourceZip(aws.s3, bucket, SOURCE_KEY, broken);
    const result = await check(h.checkContext());
    expect(result.pass).toBe(false);
    expect(result.message).toMatch(
      new RegExp(`but the source is at ${uploaded.version}: a release is still rolling out`),
    );
  });

  it("is done after bin/lesson 06: the broken release stopped, users unaffected, the revert serving", async () => {
    expect(await lesson(["06", "--prefix", prefix], h.env(), { output: h.output }), h.narration).toBe(0);
    const result = await check(h.checkContext());
    expect(result.pass, result.message).toBe(true);
    expect(result.message).toMatch(/deployment failed: tasks failed to start\./);
    // Both releases counted: not one failed request, the broken one included.
    const narration = h.narration.slice(h.narration.indexOf("Step 06 · Lesson"));
    const counts = [...narration.matchAll(/(\d+) requests to \S+ during the release, (\d+) failed/g)];
    expect(counts).toHaveLength(2);
    for (const [, total, failed] of counts) {
      expect(Number(total)).toBeGreaterThan(0);
      expect(Number(failed)).toBe(0);
    }
    expect(narration).toContain("The Deploy stage failed, as it should");
    // The service stack's story as CloudFormation tells it: the failed update rolls back, and only the
    // revert's update completes (the emulator's own "complete" waits for the ECS service to be steady).
    const failedRelease = narration.slice(0, narration.indexOf("The Deploy stage failed"));
    expect(failedRelease).not.toMatch(/stack \S+-service \(UPDATE_COMPLETE\)/);
    expect(failedRelease).toMatch(
      /-service UPDATE_ROLLBACK_IN_PROGRESS: Service failed[\s\S]*-service UPDATE_ROLLBACK_COMPLETE/,
    );
    expect(narration.slice(narration.indexOf("The Deploy stage failed"))).toMatch(
      /stack \S+-service \(UPDATE_COMPLETE\)/,
    );
    expect((await findRehearsal(prefix)).filter((c) => c.role === "task" && c.running)).toHaveLength(2);
  });
});
