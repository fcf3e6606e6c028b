// The fresh-account preflight against recorded response shapes of IAM,
// Service Quotas and EC2 (aws-sdk-client-mock): the emulator has no Service
// Quotas and no service-linked roles.
import { DescribeAddressesCommand, DescribeVpcsCommand, EC2Client } from "@aws-sdk/client-ec2";
import { CreateServiceLinkedRoleCommand, GetRoleCommand, IAMClient } from "@aws-sdk/client-iam";
import {
  ListAWSDefaultServiceQuotasCommand,
  ListServiceQuotasCommand,
  ServiceQuotasClient,
} from "@aws-sdk/client-service-quotas";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { serviceError } from "./support/service-error.ts";
import { checkAccount, ensureEcsServiceLinkedRole } from "../setup/lib/aws/account-preflight.ts";
import { ConfigError, EXIT } from "../setup/lib/errors.ts";

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
    expect(result.lines).toContain("CodeBuild concurrent builds (Linux/Small): 15 allowed, 1 needed");
    expect(result.lines[0]).toMatch(/ECS service-linked role: missing; it is created first/);
    expect(quotas.commandCalls(ListServiceQuotasCommand, { ServiceCode: "codebuild" })).toHaveLength(2);
    expect(iam.commandCalls(CreateServiceLinkedRoleCommand)).toHaveLength(0);
  });

  it("warns with numbers when the region has no VPC to spare", async () => {
    account({ builds: 1, vpcs: 5, vpcQuota: 5 });
    const result = await checkAccount(clients, "eu-west-1");
    expect(result.ecsServiceLinkedRole).toBe("present");
    expect(result.warnings).toEqual([
      expect.stringMatching(/^VPCs: 5 of 5 in use in eu-west-1, and the environment stack needs 1 more/),
    ]);
  });

  it("passes a healthy account with one line per check and no warning", async () => {
    account({ builds: 20, vpcs: 1 });
    const result = await checkAccount(clients, "eu-west-1");
    expect(result.warnings).toEqual([]);
    expect(result.lines).toEqual([
      "ECS service-linked role: present",
      "CodeBuild concurrent builds (Linux/Small): 20 allowed, 1 needed",
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
