// CloudFormation's capability check, which the emulator does not make: a
// template with IAM resources is refused unless the request acknowledges
// them with CAPABILITY_IAM, and one whose IAM resources have custom names
// unless it acknowledges CAPABILITY_NAMED_IAM (CreateStack, UpdateStack and
// CreateChangeSet, "Capabilities" in CloudFormation's API reference). AWS
// refuses before anything is created, with InsufficientCapabilitiesException
// "Requires capabilities : [CAPABILITY_NAMED_IAM]"; so does the rehearsal.
import { InsufficientCapabilitiesException } from "@aws-sdk/client-cloudformation";
import type { InitializeHandler, InitializeHandlerArguments, MiddlewareStack } from "@smithy/types";
import { parseTemplate, type Template } from "../../aws/templates.ts";

/** The IAM resource types the API reference lists as needing CAPABILITY_IAM or CAPABILITY_NAMED_IAM. */
const IAM_TYPES = new Set([
  "AWS::IAM::AccessKey",
  "AWS::IAM::Group",
  "AWS::IAM::GroupPolicy",
  "AWS::IAM::InstanceProfile",
  "AWS::IAM::ManagedPolicy",
  "AWS::IAM::Policy",
  "AWS::IAM::Role",
  "AWS::IAM::RolePolicy",
  "AWS::IAM::User",
  "AWS::IAM::UserPolicy",
  "AWS::IAM::UserToGroupAddition",
]);

/** The properties that give an IAM resource a custom name, which CAPABILITY_NAMED_IAM must acknowledge. */
const NAME_PROPERTIES = ["RoleName", "ManagedPolicyName", "UserName", "GroupName", "InstanceProfileName"];

export type IamCapability = "CAPABILITY_IAM" | "CAPABILITY_NAMED_IAM";

/** The capability a template needs, as CloudFormation decides it; undefined when it has no IAM resource. */
export function requiredCapability(template: Template): IamCapability | undefined {
  const iam = Object.values(template.Resources ?? {}).filter((r) => IAM_TYPES.has(r.Type));
  if (iam.length === 0) return undefined;
  const named = iam.some((r) => NAME_PROPERTIES.some((p) => r.Properties?.[p] !== undefined));
  return named ? "CAPABILITY_NAMED_IAM" : "CAPABILITY_IAM";
}

/** AWS's refusal when `given` does not acknowledge what the template needs; undefined when it may go ahead. */
export function capabilityRefusal(
  templateBody: string,
  given: readonly string[] = [],
): InsufficientCapabilitiesException | undefined {
  const needed = requiredCapability(parseTemplate(templateBody));
  if (needed === undefined || given.includes(needed)) return undefined;
  // Either capability acknowledges IAM resources without custom names.
  if (needed === "CAPABILITY_IAM" && given.includes("CAPABILITY_NAMED_IAM")) return undefined;
  return new InsufficientCapabilitiesException({
    message: `Requires capabilities : [${needed}]`,
    $metadata: { httpStatusCode: 400 },
  });
}

/** The calls that carry a template and its acknowledged capabilities. */
const CHECKED = new Set(["CreateStackCommand", "UpdateStackCommand", "CreateChangeSetCommand"]);

interface TemplateRequest {
  readonly TemplateBody?: string;
  readonly Capabilities?: readonly string[];
}

/**
 * Makes a CloudFormation client of the emulator refuse, before the request
 * is sent, what AWS refuses for missing capabilities. A request that names
 * its template by URL or uses the previous template is passed on unchecked.
 */
export function refuseMissingCapabilities(client: { middlewareStack: unknown }): void {
  const stack = client.middlewareStack as MiddlewareStack<object, object>;
  stack.add(
    (next: InitializeHandler<object, object>, context) => async (args: InitializeHandlerArguments<object>) => {
      const input = args.input as TemplateRequest;
      if (CHECKED.has(context.commandName ?? "") && input.TemplateBody !== undefined) {
        const refusal = capabilityRefusal(input.TemplateBody, input.Capabilities);
        if (refusal) throw refusal;
      }
      return next(args);
    },
    { step: "initialize", name: "refuseMissingCapabilities" },
  );
}
