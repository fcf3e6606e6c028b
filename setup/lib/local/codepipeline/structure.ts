// The checks CodePipeline makes when a pipeline is created or updated
// (InvalidStructureException on AWS, so CloudFormation fails the pipeline
// stack). The emulator's CodePipeline makes almost none of them; without
// this, a pipeline AWS refuses would run in the rehearsal.
import type { PipelineDeclaration } from "@aws-sdk/client-codepipeline";
import { StepError } from "../../errors.ts";

const fail = (pipeline: string, why: string): never => {
  throw new StepError(
    `The pipeline ${pipeline} is not valid: ${why}. On AWS, CodePipeline refuses it (InvalidStructureException) and the pipeline stack rolls back.`,
    "Fix the pipeline in infra/pipeline.yaml, then run the same command again.",
  );
};

export function validatePipelineStructure(pipeline: PipelineDeclaration): void {
  const name = pipeline.name ?? "?";
  const stages = pipeline.stages ?? [];
  if (stages.length < 2) fail(name, `it has ${stages.length} stage(s); a pipeline needs at least 2`);
  const produced = new Set<string>();
  const stageNames = new Set<string>();
  stages.forEach((stage, index) => {
    const stageName = stage.name ?? "?";
    if (stageNames.has(stageName)) fail(name, `two stages are named ${stageName}`);
    stageNames.add(stageName);
    const actions = stage.actions ?? [];
    if (actions.length === 0) fail(name, `stage ${stageName} has no actions`);
    const actionNames = new Set<string>();
    for (const action of actions) {
      const where = `${stageName} › ${action.name ?? "?"}`;
      if (actionNames.has(action.name ?? "")) fail(name, `stage ${stageName} has two actions named ${action.name}`);
      actionNames.add(action.name ?? "");
      const isSource = action.actionTypeId?.category === "Source";
      if (index === 0 && !isSource) fail(name, `${where} is in the first stage, which may hold only source actions`);
      if (index > 0 && isSource) fail(name, `${where} is a source action outside the first stage`);
    }
    // Within a stage, an action sees what actions of a lower run order produced.
    const orders = [...new Set(actions.map((a) => a.runOrder ?? 1))].sort((a, b) => a - b);
    for (const order of orders) {
      const group = actions.filter((a) => (a.runOrder ?? 1) === order);
      for (const action of group) {
        for (const input of action.inputArtifacts ?? []) {
          if (!produced.has(input.name ?? ""))
            fail(
              name,
              `${stageName} › ${action.name} takes the input artifact "${input.name}", which no earlier action produces`,
            );
        }
      }
      for (const action of group) {
        for (const output of action.outputArtifacts ?? []) {
          if (produced.has(output.name ?? "")) fail(name, `two actions produce an artifact named "${output.name}"`);
          produced.add(output.name ?? "");
        }
      }
    }
  });
}
