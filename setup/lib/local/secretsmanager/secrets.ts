// The secrets a stack declares, which the emulator's CloudFormation skips
// (AWS::SecretsManager::Secret): made as CloudFormation makes them, and read
// as ECS reads them when it starts a task.
import { randomBytes } from "node:crypto";
import {
  CreateSecretCommand,
  GetRandomPasswordCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  type SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import { prefixTags } from "../../aws/naming.ts";
import type { Template } from "../../aws/templates.ts";
import { StepError } from "../../errors.ts";
import type { ResourceProvider } from "../cloudformation/providers.ts";

type Props = Readonly<Record<string, unknown>>;

/** Tags marking a secret the stand-in made for a stack's resource, so a re-run finds it. */
const STAND_IN_TAG = "aws-cicd-lab:stand-in-for";

/**
 * The service template's AWS::SecretsManager::Secret resources, which the
 * emulator's CloudFormation skips: each is made as CloudFormation makes it
 * (GenerateSecretString through Secrets Manager's own generator, a name of
 * the logical id and a random suffix, the stack's tags), once; a re-run finds
 * it by its tag. Returns the attributes a Ref resolves to (the ARN).
 */
export async function ensureStackSecrets(
  secrets: SecretsManagerClient,
  template: Template,
  stack: string,
  prefix: string,
): Promise<Record<string, Record<string, string>>> {
  const made: Record<string, Record<string, string>> = {};
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== "AWS::SecretsManager::Secret") continue;
    const marker = `${stack}/${id}`;
    const { SecretList } = await secrets.send(
      new ListSecretsCommand({ Filters: [{ Key: "tag-value", Values: [marker] }] }),
    );
    let arn = SecretList?.find((s) => s.Tags?.some((t) => t.Key === STAND_IN_TAG && t.Value === marker))?.ARN;
    if (!arn) {
      const generate = ((resource.Properties ?? {}) as Props).GenerateSecretString as Props | undefined;
      const { RandomPassword } = await secrets.send(
        new GetRandomPasswordCommand({
          PasswordLength: Number(generate?.PasswordLength ?? 32),
          ExcludePunctuation: generate?.ExcludePunctuation === true,
        }),
      );
      const created = await secrets.send(
        new CreateSecretCommand({
          Name: `${id}-${randomBytes(6).toString("hex")}`,
          SecretString: RandomPassword,
          Tags: [
            ...Object.entries(prefixTags(prefix)).map(([Key, Value]) => ({ Key, Value })),
            { Key: STAND_IN_TAG, Value: marker },
          ],
        }),
      );
      arn = created.ARN;
    }
    if (arn) made[id] = { Ref: arn, Arn: arn, Id: arn };
  }
  return made;
}

/** A secret's value by ARN, as ECS reads it at task start; never printed. */
export async function secretValue(secrets: SecretsManagerClient, arn: string): Promise<string> {
  const { SecretString } = await secrets.send(new GetSecretValueCommand({ SecretId: arn }));
  if (SecretString === undefined) throw new StepError(`The secret ${arn} has no value.`, "Run the same command again.");
  return SecretString;
}

/** AWS::SecretsManager::Secret's handler: each secret of the stack exists once the stack is deployed. */
export function secretProvider(secrets: SecretsManagerClient, prefix: string): ResourceProvider {
  return {
    type: "AWS::SecretsManager::Secret",
    async complete({ stackName, template }) {
      await ensureStackSecrets(secrets, template, stackName, prefix);
      return undefined;
    },
  };
}
