// The fresh-account preflight: what a brand-new account lacks that would make
// the first run fail half-way, checked before anything is created. Read-only,
// except ensureEcsServiceLinkedRole, which the run calls once confirmed.
import { DescribeAddressesCommand, DescribeVpcsCommand, type EC2Client } from "@aws-sdk/client-ec2";
import { CreateServiceLinkedRoleCommand, GetRoleCommand, type IAMClient } from "@aws-sdk/client-iam";
import {
  ListAWSDefaultServiceQuotasCommand,
  ListServiceQuotasCommand,
  type ServiceQuota,
  type ServiceQuotasClient,
} from "@aws-sdk/client-service-quotas";
import { checkExceptions, createWaiter, WaiterState } from "@smithy/util-waiter";
import { ConfigError, isAwsError, StepError } from "../errors.ts";

/** The ECS service-linked role: ECS::Cluster and ECS::Service fail with "Unable to assume the service linked role" without it. */
export const ECS_SERVICE_LINKED_ROLE = "AWSServiceRoleForECS";

/**
 * The quota the pipeline's builds count against (both projects are
 * BUILD_GENERAL1_SMALL Linux containers, see infra/pipeline.yaml). The
 * TestAndBuild stage runs its two builds side by side: with one allowed they
 * still run, one after the other; with none, never.
 */
const CODEBUILD_QUOTA = Object.freeze({
  service: "codebuild",
  name: "Concurrently running builds for Linux/Small environment",
  needed: 1,
  sideBySide: 2,
});
const VPC_QUOTA = Object.freeze({ service: "vpc", name: "VPCs per Region", needed: 1 });
const ELASTIC_IP_QUOTA = Object.freeze({ service: "ec2", name: "EC2-VPC Elastic IPs" });
/** Public IPv4 addresses the run holds: two load balancer nodes, and up to four tasks while a release rolls out. */
const PUBLIC_IPV4_IN_USE = 6;

export interface Preflight {
  /** One line per check, for the confirmation summary. */
  readonly lines: readonly string[];
  /** Checks that pass but deserve attention, with numbers. */
  readonly warnings: readonly string[];
  readonly ecsServiceLinkedRole: "present" | "missing";
}

export interface PreflightClients {
  readonly iam: IAMClient;
  readonly quotas: ServiceQuotasClient;
  readonly ec2: EC2Client;
}

/** A quota's value for this account: the applied value, else AWS's default; undefined when Service Quotas has neither. */
async function quotaValue(
  quotas: ServiceQuotasClient,
  service: string,
  name: string,
): Promise<{ value: number; code: string } | undefined> {
  const find = async (list: (token?: string) => Promise<{ Quotas?: ServiceQuota[]; NextToken?: string }>) => {
    let token: string | undefined;
    do {
      const page = await list(token);
      const hit = page.Quotas?.find((q) => q.QuotaName === name);
      if (hit?.Value !== undefined && hit.QuotaCode) return { value: hit.Value, code: hit.QuotaCode };
      token = page.NextToken;
    } while (token);
    return undefined;
  };
  return (
    (await find((NextToken) => quotas.send(new ListServiceQuotasCommand({ ServiceCode: service, NextToken })))) ??
    (await find((NextToken) =>
      quotas.send(new ListAWSDefaultServiceQuotasCommand({ ServiceCode: service, NextToken })),
    ))
  );
}

async function roleExists(iam: IAMClient, roleName: string): Promise<boolean> {
  try {
    await iam.send(new GetRoleCommand({ RoleName: roleName }));
    return true;
  } catch (error) {
    if (isAwsError(error, "NoSuchEntityException")) return false;
    throw error;
  }
}

async function countAll<T>(pages: (token?: string) => Promise<{ items: T[]; next?: string }>): Promise<number> {
  let count = 0;
  let token: string | undefined;
  do {
    const page = await pages(token);
    count += page.items.length;
    token = page.next;
  } while (token);
  return count;
}

/**
 * Checks the account can hold a run. Throws a ConfigError (exit 2) naming
 * the quota, its value and what to do when the pipeline could never build;
 * otherwise returns what to show, and warnings with numbers.
 */
export async function checkAccount(clients: PreflightClients, region: string): Promise<Preflight> {
  const lines: string[] = [];
  const warnings: string[] = [];

  const slr = (await roleExists(clients.iam, ECS_SERVICE_LINKED_ROLE)) ? "present" : "missing";
  lines.push(
    slr === "present"
      ? `ECS service-linked role: present`
      : `ECS service-linked role: missing; it is created first (new accounts lack it until ECS is first used)`,
  );

  const builds = await quotaValue(clients.quotas, CODEBUILD_QUOTA.service, CODEBUILD_QUOTA.name);
  if (builds === undefined) {
    warnings.push(
      `CodeBuild quota "${CODEBUILD_QUOTA.name}" could not be read from Service Quotas; if builds fail with "Cannot have more than 0 builds in queue", request an increase in the Service Quotas console.`,
    );
  } else if (builds.value < CODEBUILD_QUOTA.needed) {
    throw new ConfigError(
      `Your account's CodeBuild quota "${CODEBUILD_QUOTA.name}" is ${builds.value} in ${region}; the pipeline needs at least ${CODEBUILD_QUOTA.needed}, so no build could ever start.`,
      `Request an increase (new accounts usually get it within a day), then run again: aws service-quotas request-service-quota-increase --service-code ${CODEBUILD_QUOTA.service} --quota-code ${builds.code} --desired-value 5 --region ${region}`,
    );
  } else if (builds.value < CODEBUILD_QUOTA.sideBySide) {
    warnings.push(
      `CodeBuild allows ${builds.value} concurrent Linux/Small build in ${region}: the tests and the image build will run one after the other, about 1½ minutes slower per release (quota ${builds.code}; ${CODEBUILD_QUOTA.sideBySide} lets them run side by side).`,
    );
  } else {
    lines.push(
      `CodeBuild concurrent builds (Linux/Small): ${builds.value} allowed, ${CODEBUILD_QUOTA.sideBySide} used side by side`,
    );
  }

  const vpcQuota = await quotaValue(clients.quotas, VPC_QUOTA.service, VPC_QUOTA.name);
  const vpcs = await countAll(async (NextToken) => {
    const page = await clients.ec2.send(new DescribeVpcsCommand({ NextToken }));
    return { items: page.Vpcs ?? [], next: page.NextToken };
  });
  if (vpcQuota === undefined) {
    lines.push(`VPCs: ${vpcs} in use, 1 more needed (quota not readable)`);
  } else if (vpcs + VPC_QUOTA.needed > vpcQuota.value) {
    warnings.push(
      `VPCs: ${vpcs} of ${vpcQuota.value} in use in ${region}, and the environment stack needs 1 more: it will fail unless you delete a VPC or request more (quota ${vpcQuota.code}).`,
    );
  } else {
    lines.push(`VPCs: ${vpcs} of ${vpcQuota.value} in use, 1 more needed`);
  }

  const eipQuota = await quotaValue(clients.quotas, ELASTIC_IP_QUOTA.service, ELASTIC_IP_QUOTA.name);
  const { Addresses } = await clients.ec2.send(new DescribeAddressesCommand({}));
  const eips = (Addresses ?? []).length;
  lines.push(
    `Public IPv4: up to ${PUBLIC_IPV4_IN_USE} addresses while the run exists (USD 0.005/h each); no Elastic IP is used (${eips}${eipQuota ? ` of ${eipQuota.value}` : ""} in use)`,
  );
  if (eipQuota && eips >= eipQuota.value) {
    warnings.push(
      `Elastic IPs: ${eips} of ${eipQuota.value} in use. The run needs none, but an account at its limit often has old resources still billing.`,
    );
  }
  return { lines, warnings, ecsServiceLinkedRole: slr };
}

/**
 * How long a new role needs before every service can assume it: IAM is eventually consistent, and
 * ECS refuses with "Unable to assume the service linked role" for some seconds after it was made.
 */
export const NEW_ROLE_SETTLE_SECONDS = 15;

/**
 * Waits until a role just created can be relied on: IAM answers GetRole for it and it has existed
 * for `settleSeconds`. Bounded: past `maxWaitSeconds` it fails saying so. Returns when it was ready.
 */
export async function waitUntilRoleUsable(
  iam: IAMClient,
  roleName: string,
  options: { settleSeconds?: number; maxWaitSeconds?: number; signal?: AbortSignal } = {},
): Promise<void> {
  const settle = (options.settleSeconds ?? NEW_ROLE_SETTLE_SECONDS) * 1000;
  const maxWaitTime = options.maxWaitSeconds ?? 60;
  let seen = false;
  const result = await createWaiter(
    { client: iam, maxWaitTime, minDelay: 1, maxDelay: 2, ...(options.signal ? { abortSignal: options.signal } : {}) },
    roleName,
    async () => {
      try {
        const { Role } = await iam.send(new GetRoleCommand({ RoleName: roleName }));
        seen = true;
        const age = Date.now() - (Role?.CreateDate?.getTime() ?? 0);
        return { state: age >= settle ? WaiterState.SUCCESS : WaiterState.RETRY };
      } catch (error) {
        if (isAwsError(error, "NoSuchEntityException")) return { state: WaiterState.RETRY };
        throw error;
      }
    },
  );
  try {
    checkExceptions(result);
  } catch (error) {
    throw new StepError(
      `${roleName} ${seen ? "was created but" : "was not visible to IAM"} within ${maxWaitTime} s${seen ? " it had not yet settled" : ""}.`,
      "Run the same command again: the role is there now, and nothing else was created yet.",
      error,
    );
  }
}

/** Creates the ECS service-linked role; one that already exists is fine. */
export async function ensureEcsServiceLinkedRole(iam: IAMClient): Promise<"created" | "exists"> {
  try {
    await iam.send(new CreateServiceLinkedRoleCommand({ AWSServiceName: "ecs.amazonaws.com" }));
    return "created";
  } catch (error) {
    if (/has been taken|already exists/i.test((error as Error).message)) return "exists";
    throw error;
  }
}
