// CloudFormation's capability check, which the emulator lacks and the
// rehearsal makes (setup/lib/local/cloudformation/capabilities.ts): what each
// of the project's templates needs, and real deploys against the emulator
// refused with AWS's exception and message, nothing created.
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useEmulator } from "../lessons/support/emulator.ts";
import { STACK_CAPABILITIES, STACK_ROLES, type StackRole, templateFile } from "../setup/lib/aws/naming.ts";
import { deployStack, describeStack } from "../setup/lib/aws/stacks.ts";
import { parseTemplate } from "../setup/lib/aws/templates.ts";
import { StepError } from "../setup/lib/errors.ts";
import { capabilityRefusal, requiredCapability } from "../setup/lib/local/cloudformation/capabilities.ts";
import { directOperations } from "../setup/lib/local/cloudformation/direct.ts";
import { emulatorClient } from "../setup/lib/local/emulator/clients.ts";

const fixture = useEmulator();
const fast = { pollSeconds: 1, maxWaitSeconds: 30, operations: directOperations };

const UNNAMED_ROLE = `
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: { Service: ecs-tasks.amazonaws.com }
            Action: sts:AssumeRole
`;
const NAMED_POLICY = `
Resources:
  Boundary:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      ManagedPolicyName: caps-test-boundary
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Action: logs:PutLogEvents
            Resource: "*"
`;

describe("which capability a template needs", () => {
  const needs = (role: StackRole) => requiredCapability(parseTemplate(readFileSync(templateFile(role), "utf8")));

  it("reads the project's templates as CloudFormation does", () => {
    expect(needs("bucket")).toBeUndefined();
    // ServiceRoleBoundary has a ManagedPolicyName.
    expect(needs("pipeline")).toBe("CAPABILITY_NAMED_IAM");
    expect(needs("service")).toBe("CAPABILITY_IAM");
  });

  it("is what every deploy of the project acknowledges: the steps, and the pipeline's Deploy action", () => {
    for (const role of STACK_ROLES)
      expect([...STACK_CAPABILITIES[role]], role).toEqual(needs(role) ? [needs(role)] : []);
    const pipeline = parseTemplate(readFileSync(templateFile("pipeline"), "utf8"));
    const stages = pipeline.Resources.Pipeline?.Properties?.Stages as Array<{
      Actions: Array<{ Configuration: Record<string, unknown> }>;
    }>;
    const deploy = stages.flatMap((s) => s.Actions).find((a) => a.Configuration?.ActionMode !== undefined);
    expect(deploy?.Configuration.Capabilities).toBe(STACK_CAPABILITIES.service.join(","));
  });

  it("accepts NAMED_IAM for unnamed IAM resources, and nothing less than NAMED_IAM for named ones", () => {
    expect(capabilityRefusal(UNNAMED_ROLE, ["CAPABILITY_NAMED_IAM"])).toBeUndefined();
    expect(capabilityRefusal(UNNAMED_ROLE, ["CAPABILITY_IAM"])).toBeUndefined();
    expect(capabilityRefusal(UNNAMED_ROLE, [])?.message).toBe("Requires capabilities : [CAPABILITY_IAM]");
    expect(capabilityRefusal(NAMED_POLICY, ["CAPABILITY_IAM"])?.message).toBe(
      "Requires capabilities : [CAPABILITY_NAMED_IAM]",
    );
    expect(capabilityRefusal(NAMED_POLICY, ["CAPABILITY_IAM"])?.name).toBe("InsufficientCapabilitiesException");
    expect(capabilityRefusal("Resources:\n  Q:\n    Type: AWS::SQS::Queue\n", [])).toBeUndefined();
  });
});

describe("the rehearsal's CloudFormation refuses what AWS refuses", () => {
  let dir: string;
  let cfn: CloudFormationClient;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "caps-"));
    await writeFile(join(dir, "unnamed-role.yaml"), UNNAMED_ROLE);
    await writeFile(join(dir, "named-policy.yaml"), NAMED_POLICY);
    cfn = emulatorClient(CloudFormationClient, fixture.config.aws);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const deploy = (name: string, file: string, capabilities: Array<"CAPABILITY_IAM" | "CAPABILITY_NAMED_IAM">) =>
    deployStack(cfn, { name, templateFile: join(dir, file), parameters: {}, tags: {}, capabilities }, fast);

  it.each([
    ["an unnamed role, no capability", "caps-role", "unnamed-role.yaml", [], "CAPABILITY_IAM"],
    [
      "a named policy, CAPABILITY_IAM only",
      "caps-policy",
      "named-policy.yaml",
      ["CAPABILITY_IAM"],
      "CAPABILITY_NAMED_IAM",
    ],
  ] as const)("%s: refused with AWS's message, nothing created", async (_case, name, file, given, needed) => {
    const error = await deploy(name, file, [...given]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StepError);
    expect((error as StepError).message).toContain(`Requires capabilities : [${needed}]`);
    expect(((error as StepError).cause as Error).name).toBe("InsufficientCapabilitiesException");
    expect(await describeStack(cfn, name)).toBeUndefined();
  });

  it("creates both once the capability is acknowledged", async () => {
    expect((await deploy("caps-role", "unnamed-role.yaml", ["CAPABILITY_IAM"])).action).toBe("created");
    expect((await deploy("caps-policy", "named-policy.yaml", ["CAPABILITY_NAMED_IAM"])).action).toBe("created");
  });

  it("refuses an update that adds a named resource without CAPABILITY_NAMED_IAM", async () => {
    await writeFile(join(dir, "unnamed-role.yaml"), UNNAMED_ROLE + NAMED_POLICY.replace("Resources:\n", ""));
    const error = await deploy("caps-role", "unnamed-role.yaml", ["CAPABILITY_IAM"]).catch((e: unknown) => e);
    expect((error as StepError).message).toContain("Requires capabilities : [CAPABILITY_NAMED_IAM]");
    expect((await describeStack(cfn, "caps-role"))?.StackStatus).toBe("CREATE_COMPLETE");
  });
});
