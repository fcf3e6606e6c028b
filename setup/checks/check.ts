// What every lesson check shares. A check only reads: it never creates,
// changes or deletes anything, so it is safe to run at any time.
import type { Stack } from "@aws-sdk/client-cloudformation";
import { BRANCH, codeCommitRepositoryName, SOURCE_KEY, type StackRole, stackName } from "../lib/aws/naming.ts";
import { currentSource } from "../lib/aws/source.ts";
import { describeStack, outputsOf } from "../lib/aws/stacks.ts";
import type { CheckContext } from "../lib/context.ts";
import { StepError } from "../lib/errors.ts";
import { probe } from "../lib/probe.ts";

export type { CheckContext };

export interface CheckResult {
  readonly pass: boolean;
  /** A sentence a learner understands: what is there, or what is missing and what to run. */
  readonly message: string;
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
    useCodeCommit: ctx.target.triesCodeCommit,
    repositoryName: codeCommitRepositoryName(ctx.config.prefix),
    branchName: BRANCH,
    bucket,
    key: SOURCE_KEY,
  });
}

/** Where the released app answers now (the load balancer, or the local stand-in). */
export async function appUrl(ctx: CheckContext, loadBalancerUrl: string | undefined): Promise<string | undefined> {
  return ctx.target.appUrl(ctx, loadBalancerUrl);
}

/** GET a JSON path with a short timeout; undefined when it does not answer 200. */
/**
 * What lessons 05 and 06 check against, read only: the bucket stack (lesson
 * 01), the environment (lesson 03) and the app's URL (lesson 04), or the
 * first of them that is missing.
 */
export async function runningApp(
  ctx: CheckContext,
  lesson: string,
): Promise<{ ok: true; url: string; bucket: string } | { ok: false; result: CheckResult }> {
  const bucket = await readyStack(ctx, "bucket", "01");
  if (!bucket.ok) return { ok: false, result: fail(`Lesson 01 comes first: ${bucket.result.message}`) };
  const environment = await readyStack(ctx, "environment", "03");
  if (!environment.ok) return { ok: false, result: fail(`Lesson 03 comes first: ${environment.result.message}`) };
  const url = await appUrl(ctx, environment.outputs.AppUrl);
  if (!url)
    return { ok: false, result: fail(`No app is running. Run \`bin/lesson 04\`, then \`bin/lesson ${lesson}\`.`) };
  return { ok: true, url, bucket: bucket.outputs.BucketName as string };
}

export async function getJson<T>(url: string): Promise<T | undefined> {
  const answer = await probe<T>(url);
  return answer.status === 200 ? answer.json : undefined;
}

/**
 * For a step's recovery: what an earlier lesson should have left is not
 * there, so a later step cannot start. Names the lesson to run.
 */
export function notDone(result: CheckResult): StepError {
  return new StepError(
    `An earlier lesson is not done: ${result.message}`,
    "Run the lesson it names, then the same command again.",
  );
}
