// The fresh-account preflight against recorded response shapes of IAM,
// Service Quotas and EC2 (aws-sdk-client-mock): the emulator has no Service
// Quotas and no service-linked roles.
import {
  DescribeAddressesCommand,
  DescribeAvailabilityZonesCommand,
  DescribeVpcsCommand,
  EC2Client,
} from "@aws-sdk/client-ec2";
import { CreateServiceLinkedRoleCommand, GetRoleCommand, IAMClient } from "@aws-sdk/client-iam";
import {
  ListAWSDefaultServiceQuotasCommand,
  ListServiceQuotasCommand,
  ServiceQuotasClient,
} from "@aws-sdk/client-service-quotas";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { serviceError } from "./support/service-error.ts";
import { checkAccount, ensureEcsServiceLinkedRole, waitUntilRoleUsable } from "../setup/lib/aws/account-preflight.ts";
import { chooseZones } from "../setup/lib/aws/zones.ts";
import { ConfigError, EXIT, StepError } from "../setup/lib/errors.ts";

const creds = { region: "eu-west-1", credentials: { accessKeyId: "x", secretAccessKey: "y" } };
const iam = mockClient(IAMClient);
const quotas = mockClient(ServiceQuotasClient);
const ec2 = mockClient(EC2Client);
const clients = { iam: new IAMClient(creds), quotas: new ServiceQuotasClient(creds), ec2: new EC2Client(creds) };

/** ListServiceQuotas' shape, one quota. */
const quota = (ServiceCode: string, QuotaCode: string, QuotaName: string, Value: number) => ({
  ServiceCode,
  QuotaCode,
  QuotaName,
  Value,
  Unit: "None",
  Adjustable: true,
  GlobalQuota: false,
  QuotaArn: `arn:aws:servicequotas:eu-west-1:111122223333:${ServiceCode}/${QuotaCode}`,
});
const BUILDS = "Concurrently running builds for Linux/Small environment";

function account(options: { builds?: number; vpcs?: number; vpcQuota?: number; slr?: boolean }) {
  if (options.slr ?? true)
    iam.on(GetRoleCommand).resolves({
      Role: {
        RoleName: "AWSServiceRoleForECS",
        Path: "/aws-service-role/ecs.amazonaws.com/",
        RoleId: "AROAEXAMPLE",
        Arn: "arn:aws:iam::111122223333:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS",
        CreateDate: new Date("2026-01-01"),
      },
    });
  else
    iam
      .on(GetRoleCommand)
      .rejects(serviceError("NoSuchEntityException", "The role with name AWSServiceRoleForECS cannot be found."));
  // Two pages for CodeBuild, to prove paging: the quota is on the second.
  quotas
    .on(ListServiceQuotasCommand, { ServiceCode: "codebuild" })
    .resolvesOnce({ Quotas: [quota("codebuild", "L-ACCA6BB9", "Build projects", 5000)], NextToken: "p2" })
    .resolves({
      Quotas: options.builds === undefined ? [] : [quota("codebuild", "L-2DC20C30", BUILDS, options.builds)],
    });
  quotas
    .on(ListAWSDefaultServiceQuotasCommand, { ServiceCode: "codebuild" })
    .resolves({ Quotas: [quota("codebuild", "L-2DC20C30", BUILDS, 15)] });
  quotas
    .on(ListServiceQuotasCommand, { ServiceCode: "vpc" })
    .resolves({ Quotas: [quota("vpc", "L-F678F1CE", "VPCs per Region", options.vpcQuota ?? 5)] });
  quotas.on(ListServiceQuotasCommand, { ServiceCode: "ec2" }).resolves({
    Quotas: [quota("ec2", "L-0263D0A3", "EC2-VPC Elastic IPs", 5)],
  });
  ec2.on(DescribeVpcsCommand).resolves({
    Vpcs: Array.from({ length: options.vpcs ?? 1 }, (_, i) => ({ VpcId: `vpc-0${i}`, CidrBlock: "172.31.0.0/16" })),
  });
  ec2.on(DescribeAddressesCommand).resolves({ Addresses: [] });
}

beforeEach(() => {
  iam.reset();
  quotas.reset();
  ec2.reset();
});

describe("checkAccount", () => {
  it("stops a CodeBuild quota of 0 with the exact increase command, exit 2, and creates nothing", async () => {
    account({ builds: 0, slr: false });
    const error = await checkAccount(clients, "eu-west-1").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).exitCode).toBe(EXIT.badInput);
    expect((error as ConfigError).message).toBe(
      `Your account's CodeBuild quota "${BUILDS}" is 0 in eu-west-1; the pipeline needs at least 1, so no build could ever start.`,
    );
    expect((error as ConfigError).hint).toContain(
      "aws service-quotas request-service-quota-increase --service-code codebuild --quota-code L-2DC20C30 --desired-value 5 --region eu-west-1",
    );
    expect(iam.commandCalls(CreateServiceLinkedRoleCommand)).toHaveLength(0);
  });

  it("reads AWS's default when the account has no applied value, and reports a missing service-linked role", async () => {
    account({ slr: false });
    const result = await checkAccount(clients, "eu-west-1");
    expect(result.ecsServiceLinkedRole).toBe("missing");
    expect(result.lines).toContain("CodeBuild concurrent builds (Linux/Small): 15 allowed, 2 used side by side");
    expect(result.lines[0]).toMatch(/ECS service-linked role: missing; it is created first/);
    expect(quotas.commandCalls(ListServiceQuotasCommand, { ServiceCode: "codebuild" })).toHaveLength(2);
    expect(iam.commandCalls(CreateServiceLinkedRoleCommand)).toHaveLength(0);
  });

  it("warns with numbers when the region has no VPC to spare, and when builds must queue", async () => {
    account({ builds: 1, vpcs: 5, vpcQuota: 5 });
    const result = await checkAccount(clients, "eu-west-1");
    expect(result.ecsServiceLinkedRole).toBe("present");
    expect(result.warnings).toEqual([
      expect.stringMatching(
        /^CodeBuild allows 1 concurrent Linux\/Small build in eu-west-1: the tests and the image build will run one after the other/,
      ),
      expect.stringMatching(/^VPCs: 5 of 5 in use in eu-west-1, and the environment stack needs 1 more/),
    ]);
  });

  it("passes a healthy account with one line per check and no warning", async () => {
    account({ builds: 20, vpcs: 1 });
    const result = await checkAccount(clients, "eu-west-1");
    expect(result.warnings).toEqual([]);
    expect(result.lines).toEqual([
      "ECS service-linked role: present",
      "CodeBuild concurrent builds (Linux/Small): 20 allowed, 2 used side by side",
      "VPCs: 1 of 5 in use, 1 more needed",
      "Public IPv4: up to 6 addresses while the run exists (USD 0.005/h each); no Elastic IP is used (0 of 5 in use)",
    ]);
  });
});

describe("ensureEcsServiceLinkedRole", () => {
  it("creates the role", async () => {
    iam.on(CreateServiceLinkedRoleCommand).resolves({ Role: { RoleName: "AWSServiceRoleForECS" } as never });
    expect(await ensureEcsServiceLinkedRole(clients.iam)).toBe("created");
    expect(iam.commandCalls(CreateServiceLinkedRoleCommand)[0]?.args[0].input).toEqual({
      AWSServiceName: "ecs.amazonaws.com",
    });
  });

  it('treats "already exists" as done', async () => {
    iam
      .on(CreateServiceLinkedRoleCommand)
      .rejects(
        serviceError(
          "InvalidInputException",
          "Service role name AWSServiceRoleForECS has been taken in this account, please try a different suffix.",
        ),
      );
    expect(await ensureEcsServiceLinkedRole(clients.iam)).toBe("exists");
  });
});

describe("waitUntilRoleUsable: a new service-linked role is waited for before anything needs it", () => {
  const role = (createdSecondsAgo: number) => ({
    Role: {
      RoleName: "AWSServiceRoleForECS",
      Path: "/aws-service-role/ecs.amazonaws.com/",
      RoleId: "AROAEXAMPLE",
      Arn: "arn:aws:iam::111122223333:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS",
      CreateDate: new Date(Date.now() - createdSecondsAgo * 1000),
    },
  });
  const missing = serviceError("NoSuchEntityException", "The role with name AWSServiceRoleForECS cannot be found.");

  it("waits while IAM does not see it yet, then until it has existed for the settling time", async () => {
    iam.on(GetRoleCommand).rejectsOnce(missing).resolves(role(0));
    const started = performance.now();
    await waitUntilRoleUsable(clients.iam, "AWSServiceRoleForECS", { settleSeconds: 2, maxWaitSeconds: 20 });
    // Missing once (a poll), then seen until two seconds after its creation: more than one call, at least ~1 s.
    expect(iam.commandCalls(GetRoleCommand).length).toBeGreaterThanOrEqual(3);
    expect(performance.now() - started).toBeGreaterThanOrEqual(1_000);
  });

  it("returns at once for a role that has existed long enough", async () => {
    iam.on(GetRoleCommand).resolves(role(3600));
    await waitUntilRoleUsable(clients.iam, "AWSServiceRoleForECS");
    expect(iam.commandCalls(GetRoleCommand)).toHaveLength(1);
  });

  it("is bounded: a role IAM never shows fails with what to do", async () => {
    iam.on(GetRoleCommand).rejects(missing);
    const error = (await waitUntilRoleUsable(clients.iam, "AWSServiceRoleForECS", { maxWaitSeconds: 2 }).catch(
      (e: unknown) => e,
    )) as StepError;
    expect(error).toBeInstanceOf(StepError);
    expect(error.message).toBe("AWSServiceRoleForECS was not visible to IAM within 2 s.");
    expect(error.hint).toMatch(/Run the same command again/);
  });

  it("stops on an error that is not the role's absence (AccessDenied)", async () => {
    iam.on(GetRoleCommand).rejects(serviceError("AccessDenied", "not authorized to perform: iam:GetRole"));
    await expect(waitUntilRoleUsable(clients.iam, "AWSServiceRoleForECS")).rejects.toThrow(/iam:GetRole/);
  });
});

describe("chooseZones: the environment's two zones", () => {
  const zone = (ZoneName: string, OptInStatus = "opt-in-not-required") => ({
    ZoneName,
    ZoneId: `euw1-${ZoneName.slice(-1)}`,
    State: "available" as const,
    OptInStatus: OptInStatus as never,
    ZoneType: "availability-zone",
    RegionName: "eu-west-1",
  });

  it("asks for available regular zones and takes the first two that need no opt-in, by name", async () => {
    ec2
      .on(DescribeAvailabilityZonesCommand)
      .resolves({ AvailabilityZones: [zone("eu-west-1c"), zone("eu-west-1a", "opted-in"), zone("eu-west-1b")] });
    expect(await chooseZones(clients.ec2, "eu-west-1")).toEqual(["eu-west-1b", "eu-west-1c"]);
    expect(ec2.commandCalls(DescribeAvailabilityZonesCommand)[0]?.args[0].input.Filters).toEqual([
      { Name: "state", Values: ["available"] },
      { Name: "zone-type", Values: ["availability-zone"] },
    ]);
  });

  it("refuses a region with fewer than two, exit 2, naming the region", async () => {
    ec2.on(DescribeAvailabilityZonesCommand).resolves({ AvailabilityZones: [zone("eu-west-1a")] });
    const error = (await chooseZones(clients.ec2, "eu-west-1").catch((e: unknown) => e)) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.exitCode).toBe(EXIT.badInput);
    expect(error.message).toMatch(/^Region eu-west-1 reports 1 available availability zone/);
  });
});
