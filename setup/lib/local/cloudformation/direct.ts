// How the rehearsal's stack changes reach the emulator: CreateStack and
// UpdateStack, not change sets, because the emulator's ExecuteChangeSet
// records no outputs, exports or tags (so one stack could not import
// another's). The emulator ends every operation the moment it is asked (or,
// for a failed create, never), so there is nothing to wait for on a busy stack.
import { CreateStackCommand, UpdateStackCommand } from "@aws-sdk/client-cloudformation";
import { NO_CHANGES, type StackOperations } from "../../aws/stacks.ts";

export const directOperations: StackOperations = {
  endAtOnce: true,
  async start(client, request, type) {
    try {
      const sent = await (type === "CREATE"
        ? client.send(new CreateStackCommand({ ...request, OnFailure: "ROLLBACK" }))
        : client.send(new UpdateStackCommand(request)));
      return { stackId: sent.StackId, changes: undefined };
    } catch (error) {
      // The emulator refuses an update that changes nothing outright, as UpdateStack does on AWS.
      if (type === "UPDATE" && error instanceof Error && NO_CHANGES.test(error.message)) return undefined;
      throw error;
    }
  },
};
