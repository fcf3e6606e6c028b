// The read-only plan of a run on AWS: before anything is created, what AWS
// would refuse. Every template is validated by CloudFormation and the
// capabilities it reports are compared with what the code acknowledges; the
// learner's own principal is simulated (iam:SimulatePrincipalPolicy, which
// includes permissions boundaries and the organization's SCPs) for every
// action the run performs with it. Nothing here changes the account.
import { readFile } from "node:fs/promises";
import { type CloudFormationClient, ValidateTemplateCommand } from "@aws-sdk/client-cloudformation";
import { type ContextEntry, GetRoleCommand, type IAMClient, SimulatePrincipalPolicyCommand } from "@aws-sdk/client-iam";
import { isAwsError } from "../errors.ts";
import type { PermissionNeed } from "./learner-permissions.ts";
import { STACK_CAPABILITIES, STACK_ROLES, type StackRole, templateFile } from "./naming.ts";

export interface TemplateCheck {
  readonly role: StackRole;
  /** What CloudFormation says the template needs. */
  readonly needs: readonly string[];
  /** What the code acknowledges when it deploys it. */
  readonly passes: readonly string[];
  /** Empty when the template is valid and acknowledged; else why it would be refused. */
  readonly problem?: string;
}

/** ValidateTemplate for each of the project's templates, its Capabilities compared with the code's. */
export async function checkTemplates(cfn: CloudFormationClient): Promise<TemplateCheck[]> {
  return Promise.all(
    STACK_ROLES.map(async (role): Promise<TemplateCheck> => {
      const passes: string[] = [...STACK_CAPABILITIES[role]];
      let needs: string[];
      try {
        const answer = await cfn.send(
          new ValidateTemplateCommand({ TemplateBody: await readFile(templateFile(role), "utf8") }),
        );
        needs = answer.Capabilities ?? [];
      } catch (error) {
        if (!isAwsError(error, "ValidationError")) throw error;
        return {
          role,
          needs: [],
          passes,
          problem: `CloudFormation refuses infra/${role}.yaml: ${(error as Error).message}`,
        };
      }
      // Either capability acknowledges IAM resources without custom names.
      const missing = needs.filter(
        (n) => !passes.includes(n) && !(n === "CAPABILITY_IAM" && passes.includes("CAPABILITY_NAMED_IAM")),
      );
      return missing.length > 0
        ? {
            role,
            needs,
            passes,
            problem: `infra/${role}.yaml needs ${missing.join(", ")} but the run acknowledges ${passes.join(", ") || "none"}: CloudFormation would refuse it`,
          }
        : { role, needs, passes };
    }),
  );
}

export type Principal =
  { readonly simulate: true; readonly arn: string } | { readonly simulate: false; readonly reason: string };

/**
 * The IAM principal whose policies the caller's requests are checked
 * against: an IAM user as is; an assumed role (SSO included) as its role,
 * whose full ARN (with its path) IAM gives. The root user and federated
 * users cannot be simulated.
 */
export async function principalOf(iam: IAMClient, callerArn: string): Promise<Principal> {
  if (/^arn:[^:]+:iam::\d+:root$/.test(callerArn))
    return { simulate: false, reason: "you are signed in as the account's root user, which may do everything" };
  if (/^arn:[^:]+:iam::\d+:user\//.test(callerArn)) return { simulate: true, arn: callerArn };
  const role = /^arn:[^:]+:sts::\d+:assumed-role\/([^/]+)\//.exec(callerArn)?.[1];
  if (!role) return { simulate: false, reason: `${callerArn} is not an IAM user or role, which IAM can simulate` };
  try {
    const { Role } = await iam.send(new GetRoleCommand({ RoleName: role }));
    return Role?.Arn ? { simulate: true, arn: Role.Arn } : { simulate: false, reason: `IAM knows no role ${role}` };
  } catch (error) {
    if (isAwsError(error, "AccessDenied", "AccessDeniedException"))
      return { simulate: false, reason: `your credentials may not read their own role ${role} (iam:GetRole)` };
    throw error;
  }
}

export interface Denied {
  readonly action: string;
  readonly resource: string;
  readonly why: string;
  /** "explicitDeny" (a policy, boundary or SCP says no) or "implicitDeny" (nothing allows it). */
  readonly decision: string;
}

export type SimulationResult =
  | { readonly simulated: true; readonly checked: number; readonly denied: readonly Denied[] }
  | { readonly simulated: false; readonly reason: string };

/** SimulatePrincipalPolicy takes a list of actions per call; this many keeps each request small. */
const ACTIONS_PER_CALL = 50;

/**
 * Simulates each need on the principal, in the run's region
 * (aws:RequestedRegion, which SCPs often restrict). A caller that may not
 * simulate is told so, and the plan goes on without it.
 */
export async function simulateNeeds(
  iam: IAMClient,
  principal: string,
  region: string,
  needs: readonly PermissionNeed[],
): Promise<SimulationResult> {
  const denied: Denied[] = [];
  let checked = 0;
  for (const need of needs) {
    const contextEntries: ContextEntry[] = Object.entries({ "aws:RequestedRegion": region, ...need.context }).map(
      ([ContextKeyName, value]) => ({ ContextKeyName, ContextKeyValues: [value], ContextKeyType: "string" }),
    );
    for (let i = 0; i < need.actions.length; i += ACTIONS_PER_CALL) {
      let marker: string | undefined;
      do {
        let page;
        try {
          page = await iam.send(
            new SimulatePrincipalPolicyCommand({
              PolicySourceArn: principal,
              ActionNames: need.actions.slice(i, i + ACTIONS_PER_CALL),
              ResourceArns: [need.resource],
              ContextEntries: contextEntries,
              ...(marker ? { Marker: marker } : {}),
            }),
          );
        } catch (error) {
          if (isAwsError(error, "AccessDenied", "AccessDeniedException"))
            return {
              simulated: false,
              reason: "your credentials may not simulate their own permissions (iam:SimulatePrincipalPolicy)",
            };
          throw error;
        }
        for (const result of page.EvaluationResults ?? []) {
          checked += 1;
          if (result.EvalDecision !== "allowed")
            denied.push({
              action: result.EvalActionName ?? "?",
              resource: need.resource,
              why: need.why,
              decision: result.EvalDecision ?? "implicitDeny",
            });
        }
        marker = page.IsTruncated ? page.Marker : undefined;
      } while (marker);
    }
  }
  return { simulated: true, checked, denied };
}

/** Denied actions grouped by why they are needed, one line each, for an instructor. */
export function deniedLines(denied: readonly Denied[]): string[] {
  const byWhy = new Map<string, Denied[]>();
  for (const d of denied) byWhy.set(d.why, [...(byWhy.get(d.why) ?? []), d]);
  return [...byWhy].map(([why, list]) => {
    const explicit = list.some((d) => d.decision === "explicitDeny");
    return `${list.map((d) => d.action).join(", ")}: ${why}${explicit ? " (denied explicitly: a policy, boundary or SCP forbids it)" : ""}`;
  });
}
