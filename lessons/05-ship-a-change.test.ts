// Lesson 05: a change shipped through the pipeline.
import { ListImagesCommand } from "@aws-sdk/client-ecr";
import { describe, expect, it } from "vitest";
import { check } from "../setup/checks/05-ship-a-change.ts";
import { lesson } from "../setup/lesson.ts";
import { describeStack } from "../setup/lib/aws/stacks.ts";
import { findRehearsal } from "../setup/lib/local/engine/rehearsal.ts";
import { loadBalancerUrl } from "../setup/lib/local/elbv2/load-balancer.ts";
import { useEmulator } from "./support/emulator.ts";
import { useLesson } from "./support/lesson.ts";

const fixture = useEmulator();
const prefix = "lesson-05";
const h = useLesson(fixture, prefix);

describe("lesson 05: ship a change", { timeout: 300_000 }, () => {
  it("is not done on a fresh account", async () => {
    expect((await check(h.checkContext())).pass).toBe(false);
  });

  it("is not done after bin/lesson 05 --prepare (lessons 01-04 run): the app still has its first message", async () => {
    expect(await h.prepareFor("05"), h.narration).toEqual(["01", "02", "03", "04"]);
    expect(h.narration).toContain("Ready for lesson 05");
    expect(await check(h.checkContext())).toEqual({
      pass: false,
      message: 'The app still says "Automation for the People": no change has been shipped yet. Run `bin/lesson 05`.',
    });
  });

  it("is done after bin/lesson 05 --message: a second image, the service updated, the new message served", async () => {
    const message = "Shipped in lesson five";
    expect(
      await lesson(["05", "--prefix", prefix, "--message", message], h.env(), { output: h.output }),
      h.narration,
    ).toBe(0);
    const result = await check(h.checkContext());
    expect(result.pass).toBe(true);
    expect(result.message).toContain(`says "${message}"`);
    expect(h.narration).toMatch(/\d+ requests to http:\/\/127\.0\.0\.1:\d+\/time during the release, 0 failed/);

    const { aws } = h.checkContext();
    expect((await describeStack(aws.cfn, `${prefix}-service`))?.StackStatus).toBe("UPDATE_COMPLETE");
    const images = await aws.ecr.send(new ListImagesCommand({ repositoryName: `${prefix}-app` }));
    // Two images (ListImages lists each under both its tags).
    expect(new Set(images.imageIds?.map((i) => i.imageDigest)).size).toBe(2);
    // The rolling deployment replaced both tasks: two run, both the new version.
    expect((await findRehearsal(prefix)).filter((c) => c.role === "task" && c.running)).toHaveLength(2);
    const url = await loadBalancerUrl(prefix);
    expect(((await (await fetch(`${url}/time`)).json()) as { message: string }).message).toBe(message);
  });
});
