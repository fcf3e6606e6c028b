// CloudFormation's parameter checks, which the emulator's CloudFormation does
// not make: a parameter the template does not declare, and one it declares
// without a default that is not given, are refused with AWS's message.
import type { Template } from "../../aws/templates.ts";

/** AWS's refusal of these parameters for this template; undefined when they are accepted. */
export function parameterRefusal(template: Template, parameters: Readonly<Record<string, string>>): string | undefined {
  const declared = template.Parameters ?? {};
  const unknown = Object.keys(parameters).filter((p) => !(p in declared));
  if (unknown.length > 0) return `Parameters: [${unknown.join(", ")}] do not exist in the template`;
  const missing = Object.entries(declared)
    .filter(([p, d]) => !(p in parameters) && d.Default === undefined)
    .map(([p]) => p);
  if (missing.length > 0) return `Parameters: [${missing.join(", ")}] must have values`;
  return undefined;
}
