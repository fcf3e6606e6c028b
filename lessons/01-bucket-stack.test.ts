// Lesson 01: the artifact bucket stack.
import { GetBucketEncryptionCommand, HeadBucketCommand } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { check } from "../setup/checks/01-bucket-stack.ts";
import { lesson } from "../setup/lesson.ts";
import { describeStack } from "../setup/lib/aws/stacks.ts";
import { useEmulator } from "./support/emulator.ts";
import { useLesson } from "./support/lesson.ts";

const fixture = useEmulator();
const prefix = "lesson-01";
const h = useLesson(fixture, prefix);

describe("lesson 01: the artifact bucket", () => {
  it("is not done on a fresh account, and says what to run", async () => {
    expect(await check(h.checkContext())).toEqual({
      pass: false,
      message: `There is no stack ${prefix}-bucket yet. Run \`bin/lesson 01\`.`,
    });
  });

  it("--prepare has nothing to catch up on: lesson 01 needs no earlier lesson, and nothing is created", async () => {
    expect(await h.prepareFor("01"), h.narration).toEqual([]);
    expect(h.narration).toContain("Ready for lesson 01 (it needs no earlier lesson): bin/lesson 01 --prefix lesson-01");
    expect(await describeStack(h.checkContext().aws.cfn, `${prefix}-bucket`)).toBeUndefined();
  });

  it("is done after bin/lesson 01, with the bucket it promised", async () => {
    expect(await lesson(["01", "--prefix", prefix], h.env(), { output: h.output }), h.narration).toBe(0);
    const result = await check(h.checkContext());
    expect(result.pass).toBe(true);
    expect(result.message).toContain(`${prefix}-artifacts-123456789012-us-east-1`);

    const { aws } = h.checkContext();
    const stack = await describeStack(aws.cfn, `${prefix}-bucket`);
    expect(stack?.StackStatus).toBe("CREATE_COMPLETE");
    // The lesson alone makes the bucket only; the environment starts early only when the run goes on to 03.
    expect(await describeStack(aws.cfn, `${prefix}-environment`)).toBeUndefined();
    const bucket = `${prefix}-artifacts-123456789012-us-east-1`;
    await aws.s3.send(new HeadBucketCommand({ Bucket: bucket }));
    const sse = await aws.s3.send(new GetBucketEncryptionCommand({ Bucket: bucket }));
    expect(sse.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm).toBe(
      "AES256",
    );
  });

  it("only reads: checking twice changes nothing", async () => {
    const before = await describeStack(h.checkContext().aws.cfn, `${prefix}-bucket`);
    await check(h.checkContext());
    const after = await describeStack(h.checkContext().aws.cfn, `${prefix}-bucket`);
    expect(after?.LastUpdatedTime).toEqual(before?.LastUpdatedTime);
    expect(after?.StackStatus).toBe(before?.StackStatus);
  });
});
