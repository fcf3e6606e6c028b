// Reads CloudFormation YAML templates into plain objects, with the short-form
// intrinsic functions (!Ref, !Sub, !If …) turned into their long JSON form.
import { readFile } from "node:fs/promises";
import { parse, type ScalarTag, type CollectionTag, type YAMLMap, type YAMLSeq } from "yaml";

export interface Template {
  readonly Description?: string;
  readonly Parameters?: Record<string, Record<string, unknown>>;
  readonly Conditions?: Record<string, unknown>;
  readonly Resources: Record<string, TemplateResource>;
  readonly Outputs?: Record<string, { Value: unknown; Export?: { Name: unknown }; Description?: string }>;
}

export interface TemplateResource {
  readonly Type: string;
  readonly Condition?: string;
  readonly DependsOn?: string | string[];
  readonly Metadata?: { Description?: string } & Record<string, unknown>;
  readonly Properties?: Record<string, unknown>;
}

const FUNCTIONS = [
  "Base64",
  "Cidr",
  "FindInMap",
  "GetAZs",
  "ImportValue",
  "Join",
  "Select",
  "Split",
  "Sub",
  "If",
  "Equals",
  "And",
  "Or",
  "Not",
];

function longName(name: string): string {
  return name === "Ref" || name === "Condition" ? name : `Fn::${name}`;
}

function tagsFor(name: string): Array<ScalarTag | CollectionTag> {
  const key = longName(name);
  return [
    { tag: `!${name}`, resolve: (value: string) => ({ [key]: value }) },
    { tag: `!${name}`, collection: "seq", resolve: (seq) => ({ [key]: (seq as YAMLSeq).toJSON() }) },
    { tag: `!${name}`, collection: "map", resolve: (map) => ({ [key]: (map as YAMLMap).toJSON() as unknown }) },
  ];
}

const CFN_TAGS: Array<ScalarTag | CollectionTag> = [
  ...["Ref", "Condition", ...FUNCTIONS].flatMap(tagsFor),
  // !GetAtt Resource.Attribute is the short form of ["Resource", "Attribute"].
  { tag: "!GetAtt", resolve: (value: string) => ({ "Fn::GetAtt": value.split(/\.(.*)/s, 2) }) },
  {
    tag: "!GetAtt",
    collection: "seq",
    resolve: (seq) => ({ "Fn::GetAtt": (seq as YAMLSeq).toJSON() }),
  },
];

export function parseTemplate(text: string): Template {
  return parse(text, { customTags: CFN_TAGS }) as Template;
}

export async function readTemplate(file: string): Promise<Template> {
  return parseTemplate(await readFile(file, "utf8"));
}

/** One-line description of each resource, from its Metadata, for the progress display. */
export function resourceDescriptions(template: Template): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [id, resource] of Object.entries(template.Resources)) out[id] = resource.Metadata?.Description ?? id;
  return out;
}
