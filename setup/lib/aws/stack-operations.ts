// How a stack's change reaches CloudFormation: through a change set (what a
// run on AWS does), or another way a caller passes in (the rehearsal's, see
// setup/lib/local/cloudformation/direct.ts).
import {
  type Capability,
  type CloudFormationClient,
  CreateChangeSetCommand,
  DeleteChangeSetCommand,
  DescribeChangeSetCommand,
  ExecuteChangeSetCommand,
  waitUntilChangeSetCreateComplete,
} from "@aws-sdk/client-cloudformation";
import { waiterConfig } from "./stack-watch.ts";
import type { DeployOptions } from "./stacks.ts";

/** What CloudFormation says of an update that changes nothing. */
export const NO_CHANGES = /didn't contain changes|No updates are to be performed/;

/** The request for a stack's change, as the API takes it (CreateStack, UpdateStack, CreateChangeSet). */
export interface StackRequest {
  readonly StackName: string;
  readonly TemplateBody: string;
  readonly Parameters: Array<{ ParameterKey: string; ParameterValue: string }>;
  readonly Tags: Array<{ Key: string; Value: string }>;
  readonly Capabilities: Capability[] | undefined;
}

export interface StackOperations {
  /**
   * Asks for the change and has it start; resolves with the stack's id and
   * the number of resource changes to expect (for the progress display), or
   * undefined when an update would change nothing. Throws AWS's refusal.
   */
  start(
    client: CloudFormationClient,
    request: StackRequest,
    type: "CREATE" | "UPDATE",
    options: DeployOptions,
  ): Promise<{ stackId: string | undefined; changes: number | undefined } | undefined>;
  /** Operations end the moment they are requested, or never (the emulator): a busy stack is not waited for. */
  readonly endAtOnce: boolean;
}

/** Through a change set: CreateChangeSet, wait until it is ready, ExecuteChangeSet ("no changes" is success). */
export const changeSetOperations: StackOperations = {
  endAtOnce: false,
  async start(client, request, type, options) {
    const changeSetName = `aws-cicd-lab-${Date.now()}`;
    const created = await client.send(
      new CreateChangeSetCommand({ ...request, ChangeSetName: changeSetName, ChangeSetType: type }),
    );
    const stackId = created.StackId ?? request.StackName;
    const ref = { StackName: stackId, ChangeSetName: changeSetName };
    await waitUntilChangeSetCreateComplete(waiterConfig(client, options), ref).catch(() => undefined);
    const changeSet = await client.send(new DescribeChangeSetCommand(ref));
    const empty = type === "UPDATE" && changeSet.Status === "CREATE_COMPLETE" && (changeSet.Changes ?? []).length === 0;
    if (empty || (changeSet.Status === "FAILED" && NO_CHANGES.test(changeSet.StatusReason ?? ""))) {
      await client.send(new DeleteChangeSetCommand(ref)).catch(() => undefined);
      return undefined;
    }
    if (changeSet.Status !== "CREATE_COMPLETE")
      throw new Error(changeSet.StatusReason ?? `the change set ended in ${changeSet.Status}`);
    await client.send(new ExecuteChangeSetCommand(ref));
    return { stackId, changes: (changeSet.Changes ?? []).length };
  },
};

export const operationsOf = (options: DeployOptions): StackOperations => options.operations ?? changeSetOperations;
