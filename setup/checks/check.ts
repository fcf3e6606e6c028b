// What every lesson check shares. A check only reads: it never creates,
// changes or deletes anything, so it is safe to run at any time.
import type { Stack } from "@aws-sdk/client-cloudformation";
import type { AwsClients } from "../lib/aws/clients.ts";
import { ecrRepositoryName, type StackRole, stackName } from "../lib/aws/naming.ts";
import { currentSource } from "../lib/aws/source.ts";
import { describeStack, outputsOf } from "../lib/aws/stacks.ts";
import type { Config } from "../lib/config.ts";
import { findRehearsal } from "../lib/local/rehearsal.ts";

export interface CheckResult {
  readonly pass: boolean;
  /** A sentence a learner understands: what is there, or what is missing and what to run. */
  readonly message: string;
}

export interface CheckContext {
  readonly config: Config;
  readonly aws: AwsClients;
}

export const pass = (message: string): CheckResult => ({ pass: true, message });
export const fail = (message: string): CheckResult => ({ pass: false, message });

const READY = new Set(["CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE"]);

export type StackCheck =
  | { readonly ok: true; readonly stack: Stack; readonly outputs: Record<string, string> }
  | { readonly ok: false; readonly result: CheckResult };

/** The stack for a role, if it is ready; otherwise a failed check saying why and which lesson to run. */
export async function readyStack(ctx: CheckContext, role: StackRole, lesson: string): Promise<StackCheck> {
  const name = stackName(ctx.config.prefix, role);
  const stack = await describeStack(ctx.aws.cfn, name);
  if (!stack) return { ok: false, result: fail(`There is no stack ${name} yet. Run \`bin/lesson ${lesson}\`.`) };
  const status = stack.StackStatus ?? "";
  if (status.endsWith("_IN_PROGRESS")) {
    return {
      ok: false,
      result: fail(`The stack ${name} is still being worked on (${status}). Wait a minute and check again.`),
    };
  }
  if (!READY.has(status)) {
    const why = stack.StackStatusReason ? `: ${stack.StackStatusReason}` : "";
    return {
      ok: false,
      result: fail(
        `The stack ${name} exists but its last change failed (${status}${why}). Run \`bin/lesson ${lesson}\` again.`,
      ),
    };
  }
  return { ok: true, stack, outputs: outputsOf(stack) };
}

/** What the pipeline would build now (read only). */
export async function seededRevision(ctx: CheckContext, bucket: string) {
  return currentSource(ctx.aws, {
    useCodeCommit: ctx.config.target === "aws",
    repositoryName: ecrRepositoryName(ctx.config.prefix),
    branchName: "main",
    bucket,
    key: "source.zip",
  });
}

/** Where the released app answers: the load balancer on AWS, the app container locally. */
export async function appUrl(ctx: CheckContext, environmentUrl: string | undefined): Promise<string | undefined> {
  if (ctx.config.target === "aws") return environmentUrl;
  return (await findRehearsal(ctx.config.prefix)).find((c) => c.role === "app" && c.running)?.url;
}

/** GET a JSON path with a short timeout; undefined when it does not answer 200. */
export async function getJson<T>(url: string): Promise<T | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    return res.status === 200 ? ((await res.json()) as T) : undefined;
  } catch {
    return undefined;
  }
}
