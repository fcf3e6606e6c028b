// ARNs in narration: a learner reads the resource's name ("the target group
// demo-service-Target-IRYP6FVPF5QI"), not its 110-character ARN, which lines
// would repeat nine times in one lesson. --verbose keeps them whole. Only for
// text that is read (service events), never for commands meant to be copied.

const ARN = /\barn:aws[\w-]*:[\w-]+:[\w-]*:\d*:[^\s)"',]+/g;

/** The name in an ARN's resource part: the name segment where the type has an id after it, else the last. */
export function arnName(arn: string): string {
  const resource = arn.split(":").slice(5).join(":");
  const parts = resource.split(/[/:]/);
  // targetgroup/NAME/ID, loadbalancer/app/NAME/ID, stack/NAME/UUID: the name is before the id.
  if (parts[0] === "targetgroup" || parts[0] === "stack") return parts[1] ?? resource;
  if (parts[0] === "loadbalancer") return parts[2] ?? resource;
  return parts.at(-1) || resource;
}

/** Each ARN in a line replaced by its resource's name, unless verbose. */
export function shortenArns(text: string, verbose = false): string {
  return verbose ? text : text.replace(ARN, arnName);
}
