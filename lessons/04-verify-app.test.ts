// Lesson 04: the first release, answering at its URL.
import { ListImagesCommand } from "@aws-sdk/client-ecr";
import { describe, expect, it } from "vitest";
import { check } from "../setup/checks/04-verify-app.ts";
import { lesson } from "../setup/lesson.ts";
import { describeStack, outputsOf } from "../setup/lib/aws/stacks.ts";
import { findRehearsal } from "../setup/lib/local/engine/rehearsal.ts";
import { loadBalancerUrl } from "../setup/lib/local/elbv2/load-balancer.ts";
import { useEmulator } from "./support/emulator.ts";
import { useLesson } from "./support/lesson.ts";

const fixture = useEmulator();
const prefix = "lesson-04";
const h = useLesson(fixture, prefix);

describe("lesson 04: verify the app", { timeout: 300_000 }, () => {
  it("is not done on a fresh account", async () => {
    expect((await check(h.checkContext())).pass).toBe(false);
  });

  it("is not done after bin/lesson 04 --prepare (lessons 01-03 run)", async () => {
    expect(await h.prepareFor("04"), h.narration).toEqual(["01", "02", "03"]);
    expect(h.narration).toContain("Ready for lesson 04");
    expect(await check(h.checkContext())).toEqual({
      pass: false,
      message: `There is no stack ${prefix}-service yet. Run \`bin/lesson 04\`.`,
    });
  });

  it("is done after bin/lesson 04: the service stack, the image in ECR, and the app answering", async () => {
    expect(await lesson(["04", "--prefix", prefix], h.env(), { output: h.output }), h.narration).toBe(0);
    const result = await check(h.checkContext());
    expect(result.pass).toBe(true);

    const { aws } = h.checkContext();
    const service = await describeStack(aws.cfn, `${prefix}-service`);
    expect(service?.StackStatus).toBe("CREATE_COMPLETE");
    const tag = outputsOf(service).ImageUri?.split(":").pop();
    expect(tag).toMatch(/^s3-[0-9a-f]{10}$/);
    const images = await aws.ecr.send(new ListImagesCommand({ repositoryName: `${prefix}-app` }));
    // One image, under its tag and the content tag a later build checks before reusing it.
    expect(images.imageIds?.map((i) => i.imageTag).sort()).toEqual([
      tag,
      expect.stringMatching(new RegExp(`^${tag}-src-[0-9a-f]{12}$`)),
    ]);
    expect(new Set(images.imageIds?.map((i) => i.imageDigest)).size).toBe(1);
    // The service's desired count of tasks, behind the load balancer stand-in, whose listener is the app's URL.
    expect((await findRehearsal(prefix)).filter((c) => c.role === "task" && c.running)).toHaveLength(2);
    const url = await loadBalancerUrl(prefix);
    expect(await (await fetch(`${url}/`)).json()).toMatchObject({ service: "lab-app", version: tag });
    expect(result.message).toBe(`The app answers at ${url} as version ${tag}.`);
  });
});
