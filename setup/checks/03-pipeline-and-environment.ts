// Check 03: the pipeline and environment stacks are ready, the pipeline itself
// exists (on AWS the stack made it; in the rehearsal the emulator holds it),
// and the environment has its URL.
import { GetPipelineCommand } from "@aws-sdk/client-codepipeline";
import { type CheckContext, type CheckResult, fail, pass, readyStack } from "./check.ts";

export async function check(ctx: CheckContext): Promise<CheckResult> {
  const pipeline = await readyStack(ctx, "pipeline", "03");
  if (!pipeline.ok) return pipeline.result;
  const name = pipeline.outputs.PipelineName;
  const exists = name
    ? await ctx.aws.cp.send(new GetPipelineCommand({ name })).then(
        (r) => r.pipeline !== undefined,
        () => false,
      )
    : false;
  if (!exists)
    return fail(
      `The pipeline stack is ready but the pipeline ${name ?? "?"} does not exist. Run \`bin/lesson 03\` again.`,
    );
  const environment = await readyStack(ctx, "environment", "03");
  if (!environment.ok) return environment.result;
  const url = environment.outputs.AppUrl;
  if (!url) return fail("The environment stack has no AppUrl output. Run `bin/lesson 03` again.");
  return pass(
    `The pipeline ${pipeline.outputs.PipelineName} (source: ${pipeline.outputs.SourceProvider}) and the environment are ready; the load balancer is ${url}.`,
  );
}
