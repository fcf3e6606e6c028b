// `bin/run --region R --plan` on a mocked account (aws-sdk-client-mock,
// answering with the shapes AWS returns): identity, the preflight, every
// template validated, the learner's own permissions simulated; one denied
// action is listed with why the run needs it, exit 2, nothing created. And the
// list of what the learner's credentials do is checked against the code.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import {
  CloudFormationClient,
  CreateChangeSetCommand,
  DescribeStacksCommand,
  ValidateTemplateCommand,
} from "@aws-sdk/client-cloudformation";
import {
  DescribeAddressesCommand,
  DescribeAvailabilityZonesCommand,
  DescribeVpcsCommand,
  EC2Client,
} from "@aws-sdk/client-ec2";
import {
  CreateServiceLinkedRoleCommand,
  GetRoleCommand,
  IAMClient,
  SimulatePrincipalPolicyCommand,
  type SimulatePrincipalPolicyCommandInput,
} from "@aws-sdk/client-iam";
import { ListServiceQuotasCommand, ServiceQuotasClient } from "@aws-sdk/client-service-quotas";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { narrationSink } from "../lessons/support/narration-sink.ts";
import { learnerPermissions } from "../setup/lib/aws/learner-permissions.ts";
import { checkTemplates, principalOf } from "../setup/lib/aws/plan.ts";
import { parseTemplate } from "../setup/lib/aws/templates.ts";
import { requiredCapability } from "../setup/lib/local/cloudformation/capabilities.ts";
import { EXIT } from "../setup/lib/errors.ts";
import { run } from "../setup/run.ts";
import { serviceError } from "./support/service-error.ts";

const ACCOUNT = "111122223333";
const REGION = "eu-west-1";
const SSO_ROLE = "AWSReservedSSO_Workshop_0123456789abcdef";
const SSO_ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/aws-reserved/sso.amazonaws.com/eu-west-1/${SSO_ROLE}`;

const mocks = {
  sts: mockClient(STSClient),
  cfn: mockClient(CloudFormationClient),
  iam: mockClient(IAMClient),
  quotas: mockClient(ServiceQuotasClient),
  ec2: mockClient(EC2Client),
};

/** An account where the learner signed in with SSO and may do everything but `denied`. */
function account(denied: readonly string[] = []) {
  mocks.sts.on(GetCallerIdentityCommand).resolves({
    Account: ACCOUNT,
    Arn: `arn:aws:sts::${ACCOUNT}:assumed-role/${SSO_ROLE}/learner@example.com`,
    UserId: "AROAEXAMPLE:learner@example.com",
  });
  mocks.cfn.on(DescribeStacksCommand).rejects(serviceError("ValidationError", "Stack with id x does not exist"));
  // ValidateTemplate answers with the capabilities the template needs, and why.
  mocks.cfn.on(ValidateTemplateCommand).callsFake((input: { TemplateBody: string }) => {
    const needed = requiredCapability(parseTemplate(input.TemplateBody));
    return Promise.resolve({
      Parameters: [],
      ...(needed
        ? {
            Capabilities: [needed],
            CapabilitiesReason: "The following resource(s) require capabilities: [AWS::IAM::Role]",
          }
        : {}),
    });
  });
  mocks.iam.on(GetRoleCommand, { RoleName: SSO_ROLE }).resolves({
    Role: {
      RoleName: SSO_ROLE,
      Arn: SSO_ROLE_ARN,
      Path: "/",
      RoleId: "AROAEXAMPLE",
      CreateDate: new Date("2026-01-01"),
    },
  });
  mocks.iam.on(GetRoleCommand, { RoleName: "AWSServiceRoleForECS" }).resolves({
    Role: {
      RoleName: "AWSServiceRoleForECS",
      Arn: `arn:aws:iam::${ACCOUNT}:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS`,
      Path: "/aws-service-role/ecs.amazonaws.com/",
      RoleId: "AROAEXAMPLE2",
      CreateDate: new Date("2026-01-01"),
    },
  });
  mocks.iam.on(SimulatePrincipalPolicyCommand).callsFake((input: SimulatePrincipalPolicyCommandInput) =>
    Promise.resolve({
      IsTruncated: false,
      EvaluationResults: (input.ActionNames ?? []).map((EvalActionName) => ({
        EvalActionName,
        EvalResourceName: input.ResourceArns?.[0],
        EvalDecision: denied.includes(EvalActionName) ? "implicitDeny" : "allowed",
      })),
    }),
  );
  mocks.quotas.on(ListServiceQuotasCommand).resolves({
    Quotas: [
      { QuotaName: "Concurrently running builds for Linux/Small environment", QuotaCode: "L-2DC20C30", Value: 15 },
      { QuotaName: "VPCs per Region", QuotaCode: "L-F678F1CE", Value: 5 },
      { QuotaName: "EC2-VPC Elastic IPs", QuotaCode: "L-0263D0A3", Value: 5 },
    ],
  });
  mocks.ec2.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: "vpc-0default" }] });
  mocks.ec2.on(DescribeAddressesCommand).resolves({ Addresses: [] });
  mocks.ec2.on(DescribeAvailabilityZonesCommand).resolves({
    AvailabilityZones: ["a", "b", "c"].map((z) => ({
      ZoneName: `${REGION}${z}`,
      State: "available",
      OptInStatus: "opt-in-not-required",
      ZoneType: "availability-zone",
    })),
  });
}

const sink = narrationSink();
const env = { CI: "true", NO_COLOR: "1", AWS_ACCESS_KEY_ID: "AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY: "secret" };
const plan = () => run(["--region", REGION, "--plan"], env, { output: sink.output });

beforeEach(() => {
  for (const m of Object.values(mocks)) m.reset();
  sink.clear();
});

describe("bin/run --plan on AWS", () => {
  it("checks everything, creates nothing, and says so: exit 0, no confirmation needed without a terminal", async () => {
    account();
    expect(await plan()).toBe(EXIT.ok);
    const text = sink.text();
    expect(text).toMatch(/availability zones: eu-west-1a and eu-west-1b/);
    expect(text).toMatch(/infra\/pipeline\.yaml: valid, CAPABILITY_NAMED_IAM acknowledged/);
    expect(text).toMatch(/infra\/service\.yaml: valid, CAPABILITY_IAM acknowledged/);
    expect(text).toMatch(new RegExp(`as ${SSO_ROLE_ARN.replaceAll("/", "\\/")}`));
    expect(text).toMatch(/permissions: all \d+ allowed/);
    expect(text).toMatch(/Nothing AWS would refuse was found, and nothing was created/);
    expect(mocks.cfn.commandCalls(CreateChangeSetCommand)).toHaveLength(0);
    expect(mocks.iam.commandCalls(CreateServiceLinkedRoleCommand)).toHaveLength(0);
    // Every need simulated, in the run's region.
    const calls = mocks.iam.commandCalls(SimulatePrincipalPolicyCommand).map((c) => c.args[0].input);
    expect(calls.every((c) => c.PolicySourceArn === SSO_ROLE_ARN)).toBe(true);
    expect(
      calls.every((c) =>
        c.ContextEntries?.some((e) => e.ContextKeyName === "aws:RequestedRegion" && e.ContextKeyValues?.[0] === REGION),
      ),
    ).toBe(true);
  });

  it("lists a denied action with why the run needs it, exit 2, nothing created", async () => {
    account(["iam:CreateRole"]);
    expect(await plan()).toBe(EXIT.badInput);
    const text = sink.text();
    expect(text).toContain(
      `denied to ${SSO_ROLE_ARN}: iam:CreateRole: CloudFormation creates and deletes the AWS::IAM::Role resources of stack demo-pipeline with your credentials`,
    );
    expect(text).toMatch(/1 thing\(s\) above would stop this run on AWS; nothing was created\./);
    expect(mocks.cfn.commandCalls(CreateChangeSetCommand)).toHaveLength(0);
  });

  it("goes on without the permission check when the learner may not simulate, and says so", async () => {
    account();
    mocks.iam
      .on(SimulatePrincipalPolicyCommand)
      .rejects(serviceError("AccessDenied", "User is not authorized to perform: iam:SimulatePrincipalPolicy"));
    expect(await plan()).toBe(EXIT.ok);
    expect(sink.text()).toMatch(
      /Your permissions were not checked: your credentials may not simulate their own permissions \(iam:SimulatePrincipalPolicy\)\. The run goes on without that check\./,
    );
  });

  it("is refused for the rehearsal, which has no account to check (exit 2)", async () => {
    expect(await run(["--plan"], { CI: "true", NO_COLOR: "1" }, { output: sink.output })).toBe(EXIT.badInput);
    expect(sink.text()).toMatch(/--plan checks a real AWS account/);
  });
});

describe("the plan's parts", () => {
  const iam = new IAMClient({ region: REGION, credentials: { accessKeyId: "x", secretAccessKey: "y" } });
  const cfn = new CloudFormationClient({ region: REGION, credentials: { accessKeyId: "x", secretAccessKey: "y" } });

  it("finds the principal: a user as is, an SSO role by its full ARN, never the root user", async () => {
    account();
    expect(await principalOf(iam, `arn:aws:iam::${ACCOUNT}:user/ops/alex`)).toEqual({
      simulate: true,
      arn: `arn:aws:iam::${ACCOUNT}:user/ops/alex`,
    });
    expect(await principalOf(iam, `arn:aws:sts::${ACCOUNT}:assumed-role/${SSO_ROLE}/alex`)).toEqual({
      simulate: true,
      arn: SSO_ROLE_ARN,
    });
    expect(await principalOf(iam, `arn:aws:iam::${ACCOUNT}:root`)).toMatchObject({ simulate: false });
    mocks.iam.on(GetRoleCommand).rejects(serviceError("AccessDenied", "not authorized to perform: iam:GetRole"));
    expect(await principalOf(iam, `arn:aws:sts::${ACCOUNT}:assumed-role/Limited/alex`)).toEqual({
      simulate: false,
      reason: "your credentials may not read their own role Limited (iam:GetRole)",
    });
  });

  it("reports a template whose capabilities the code does not acknowledge", async () => {
    mocks.cfn.on(ValidateTemplateCommand).resolves({ Capabilities: ["CAPABILITY_IAM"] });
    const checks = await checkTemplates(cfn);
    expect(checks.find((c) => c.role === "environment")?.problem).toBe(
      "infra/environment.yaml needs CAPABILITY_IAM but the run acknowledges none: CloudFormation would refuse it",
    );
    // NAMED_IAM acknowledges unnamed IAM resources too.
    expect(checks.find((c) => c.role === "pipeline")?.problem).toBeUndefined();
  });
});

// ------------------------------------------------------------------ the list against the code

const ROOT = join(import.meta.dirname, "..");

/** The SDK package of each service, and the IAM prefix of its actions. */
const SERVICE_PREFIX: Record<string, string> = {
  cloudformation: "cloudformation",
  cloudwatch: "cloudwatch",
  "cloudwatch-logs": "logs",
  codebuild: "codebuild",
  codecommit: "codecommit",
  codepipeline: "codepipeline",
  ec2: "ec2",
  ecr: "ecr",
  ecs: "ecs",
  "elastic-load-balancing-v2": "elasticloadbalancing",
  eventbridge: "events",
  iam: "iam",
  "resource-groups-tagging-api": "tag",
  s3: "s3",
  "secrets-manager": "secretsmanager",
  "service-quotas": "servicequotas",
  sns: "sns",
  sqs: "sqs",
  sts: "sts",
};

/** Commands whose IAM action is not their name. */
const ACTION_OF: Record<string, readonly string[]> = {
  "s3:HeadObject": ["s3:GetObject"],
  "s3:HeadBucket": ["s3:ListBucket"],
  "s3:ListObjectVersions": ["s3:ListBucketVersions"],
  "s3:DeleteObjects": ["s3:DeleteObject", "s3:DeleteObjectVersion"],
};

/** Calls made with the learner's credentials that need no permission of the run's list, each with why. */
const NOT_NEEDED: Record<string, string> = {
  "sts:GetCallerIdentity": "needs no permission",
  "iam:SimulatePrincipalPolicy": "the plan's own check: where denied, the plan says so and goes on",
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

/** Every SDK command the AWS path constructs (not the rehearsal's stand-ins), as IAM actions. */
function actionsInCode(): Map<string, string> {
  const found = new Map<string, string>();
  const files = sourceFiles(join(ROOT, "setup")).filter(
    (f) => !f.includes("/setup/lib/local/") && !f.endsWith("/setup/targets/local.ts"),
  );
  for (const file of files) {
    const text = readFileSync(file, "utf8");
    const commandService = new Map<string, string>();
    for (const m of text.matchAll(/import\s*\{([^}]*)\}\s*from\s*"@aws-sdk\/client-([a-z0-9-]+)"/g)) {
      for (const part of (m[1] as string).split(",")) {
        const [name, alias] = part
          .replace(/\btype\b/, "")
          .trim()
          .split(/\s+as\s+/) as [string, string | undefined];
        if (name.endsWith("Command")) commandService.set(alias ?? name, `${m[2]}|${name}`);
        // A paginator sends its operation's command itself: paginateGetMetricData → GetMetricDataCommand.
        if (name.startsWith("paginate")) commandService.set(alias ?? name, `${m[2]}|${name.slice(8)}Command`);
      }
    }
    for (const m of text.matchAll(/(?:new |\b)([A-Za-z0-9]+)\(/g)) {
      const known = commandService.get(m[1] as string);
      if (!known) continue;
      const [pkg, name] = known.split("|") as [string, string];
      const prefix = SERVICE_PREFIX[pkg];
      if (!prefix) throw new Error(`${relative(ROOT, file)}: no IAM prefix known for @aws-sdk/client-${pkg}`);
      const action = `${prefix}:${name.replace(/Command$/, "")}`;
      for (const a of ACTION_OF[action] ?? [action]) found.set(a, relative(ROOT, file));
    }
  }
  return found;
}

describe("what the learner's credentials do", () => {
  const needs = learnerPermissions("demo", ACCOUNT, REGION);
  const listed = new Set(needs.flatMap((n) => n.actions));

  it("lists every call the AWS path makes with them", () => {
    const calls = actionsInCode();
    expect(calls.size).toBeGreaterThan(40);
    const missing = [...calls].filter(([action]) => !listed.has(action) && !(action in NOT_NEEDED));
    expect(missing.map(([action, file]) => `${action} (${file})`)).toEqual([]);
  });

  it("includes what CloudFormation's handlers call for the stacks the learner deploys, and says why for each", () => {
    for (const action of [
      "iam:CreateRole",
      "ec2:CreateVpc",
      "elasticloadbalancing:CreateLoadBalancer",
      "s3:CreateBucket",
    ])
      expect(listed.has(action), action).toBe(true);
    expect(needs.every((n) => n.why.length > 20 && n.actions.length > 0)).toBe(true);
    // The service stack is DeployRole's, not the learner's.
    expect(needs.some((n) => n.why.includes("demo-service"))).toBe(false);
  });
});
