// The environment stack's spec in one place. It is the slowest stack (the load
// balancer takes about 3 minutes) and needs nothing from the others, so step
// 01 starts it when the run goes on to step 03, and step 03 deploys it (or
// follows the create step 01 started) before the pipeline's Deploy needs it.
import { prefixTags, STACK_CAPABILITIES, stackName, templateFile } from "./naming.ts";
import type { StackSpec } from "./stacks.ts";

export function environmentStack(prefix: string): StackSpec {
  return {
    name: stackName(prefix, "environment"),
    templateFile: templateFile("environment"),
    parameters: { Prefix: prefix },
    tags: prefixTags(prefix),
    capabilities: STACK_CAPABILITIES.environment,
  };
}
