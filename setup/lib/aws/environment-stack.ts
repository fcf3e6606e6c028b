// The environment stack's spec in one place. It is the slowest stack (the load
// balancer takes about 3 minutes) and needs nothing from the others, so step
// 01 starts it when the run goes on to step 03, and step 03 deploys it (or
// follows the create step 01 started) before the pipeline's Deploy needs it.
import type { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import type { EC2Client } from "@aws-sdk/client-ec2";
import { prefixTags, STACK_CAPABILITIES, stackName, templateFile } from "./naming.ts";
import { describeStack, type StackSpec } from "./stacks.ts";
import { chooseZones, type ZonePair } from "./zones.ts";

export function environmentStack(prefix: string, zones: ZonePair): StackSpec {
  return {
    name: stackName(prefix, "environment"),
    templateFile: templateFile("environment"),
    parameters: { Prefix: prefix, ZoneA: zones[0], ZoneB: zones[1] },
    tags: prefixTags(prefix),
    capabilities: STACK_CAPABILITIES.environment,
  };
}

/** The zones of the environment stack that exists, else those the region offers now. */
export async function environmentZones(
  clients: { readonly cfn: CloudFormationClient; readonly ec2: EC2Client },
  prefix: string,
  region: string,
): Promise<ZonePair> {
  const existing = await describeStack(clients.cfn, stackName(prefix, "environment"));
  const given = (key: string) => existing?.Parameters?.find((p) => p.ParameterKey === key)?.ParameterValue;
  const a = given("ZoneA");
  const b = given("ZoneB");
  return a && b ? [a, b] : chooseZones(clients.ec2, region);
}
