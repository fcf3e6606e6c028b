// Lesson 03: the pipeline and environment stacks.
import { BatchGetProjectsCommand } from "@aws-sdk/client-codebuild";
import { GetPipelineCommand } from "@aws-sdk/client-codepipeline";
import { DescribeRepositoriesCommand } from "@aws-sdk/client-ecr";
import { DescribeClustersCommand, ECSClient } from "@aws-sdk/client-ecs";
import { describe, expect, it } from "vitest";
import { check } from "../setup/checks/03-pipeline-and-environment.ts";
import { lesson } from "../setup/lesson.ts";
import { describeStack } from "../setup/lib/aws/stacks.ts";
import { releaseHeldPipeline } from "../setup/lib/local/codepipeline/pipelines.ts";
import { useEmulator } from "./support/emulator.ts";
import { useLesson } from "./support/lesson.ts";
import { emulatorClient } from "../setup/lib/local/emulator/clients.ts";

const fixture = useEmulator();
const prefix = "lesson-03";
const h = useLesson(fixture, prefix);

describe("lesson 03: pipeline and environment", () => {
  it("is not done on a fresh account", async () => {
    expect((await check(h.checkContext())).pass).toBe(false);
  });

  it("is not done after bin/lesson 03 --prepare (lessons 01 and 02 run)", async () => {
    expect(await h.prepareFor("03"), h.narration).toEqual(["01", "02"]);
    expect(h.narration).toContain("Ready for lesson 03");
    expect(await check(h.checkContext())).toEqual({
      pass: false,
      message: `There is no stack ${prefix}-pipeline yet. Run \`bin/lesson 03\`.`,
    });
  });

  it("is done after bin/lesson 03, with both stacks, the image repository and the cluster", async () => {
    expect(await lesson(["03", "--prefix", prefix], h.env(), { output: h.output }), h.narration).toBe(0);
    const result = await check(h.checkContext());
    expect(result.pass).toBe(true);
    expect(result.message).toContain(`http://${prefix}-alb-`);

    const { aws } = h.checkContext();
    for (const role of ["pipeline", "environment"]) {
      expect((await describeStack(aws.cfn, `${prefix}-${role}`))?.StackStatus).toBe("CREATE_COMPLETE");
    }
    const repo = await aws.ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [`${prefix}-app`] }));
    expect(repo.repositories?.[0]?.imageTagMutability).toBe("IMMUTABLE");
    const ecs = emulatorClient(ECSClient, fixture.config.aws);
    expect(
      (await ecs.send(new DescribeClustersCommand({ clusters: [`${prefix}-cluster`] }))).clusters?.[0]?.status,
    ).toBe("ACTIVE");
    // The pipeline and projects, as the template defines them, held where CodePipeline and CodeBuild keep them.
    const { pipeline } = await aws.cp.send(new GetPipelineCommand({ name: `${prefix}-pipeline` }));
    expect(pipeline?.stages?.map((s) => s.name)).toEqual(["Source", "TestAndBuild", "Deploy"]);
    const { projects } = await aws.cb.send(
      new BatchGetProjectsCommand({ names: [`${prefix}-test`, `${prefix}-build`] }),
    );
    expect(projects?.map((p) => p.source?.buildspec)).toEqual(["buildspec-test.yml", "buildspec.yml"]);
  });

  it("is not done while the pipeline itself is missing, and a re-run of the lesson makes it again", async () => {
    const { aws } = h.checkContext();
    await releaseHeldPipeline(aws, `${prefix}-pipeline`);
    expect(await check(h.checkContext())).toEqual({
      pass: false,
      message: `The pipeline stack is ready but the pipeline ${prefix}-pipeline does not exist. Run \`bin/lesson 03\` again.`,
    });
    expect(await lesson(["03", "--prefix", prefix], h.env(), { output: h.output }), h.narration).toBe(0);
    expect((await check(h.checkContext())).pass).toBe(true);
  });
});
