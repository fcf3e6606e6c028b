// Reads CloudFormation YAML templates into plain objects, with the short-form
// intrinsic functions (!Ref, !Sub, !If …) turned into their long JSON form.
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

/** One-line description of each resource, from its Metadata, for the progress display. */
export function resourceDescriptions(template: Template): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [id, resource] of Object.entries(template.Resources)) out[id] = resource.Metadata?.Description ?? id;
  return out;
}

/** What a template is rendered for: a concrete account, region, parameters, and the physical ids of its resources. */
export interface RenderContext {
  readonly accountId: string;
  readonly region: string;
  readonly stackName: string;
  readonly partition?: string;
  readonly urlSuffix?: string;
  /** Every parameter's value (defaults are filled in from the template). */
  readonly parameters: Readonly<Record<string, string>>;
  /** Fn::ImportValue: export name → value. */
  readonly imports?: Readonly<Record<string, string>>;
  /** Ref and Fn::GetAtt of resources: logical id → { Ref: …, Arn: …, … }. */
  readonly resources?: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

class RenderError extends Error {}

/** Marks a value removed by AWS::NoValue; dropped from the arrays and objects that hold it. */
const NO_VALUE = Symbol("AWS::NoValue");

/**
 * The template as CloudFormation would see it for `context`: parameters with
 * their defaults, conditions evaluated, resources whose condition is false
 * left out, and the intrinsic functions (Ref, Fn::Sub, Fn::GetAtt, Fn::If,
 * Fn::Equals, Fn::Join, Fn::Split, Fn::Select, Fn::ImportValue) resolved.
 * A reference nothing in `context` answers is an error, never a guess.
 */
export function renderTemplate(template: Template, context: RenderContext): Template {
  const partition = context.partition ?? "aws";
  const parameters: Record<string, string> = {};
  for (const [name, p] of Object.entries(template.Parameters ?? {})) {
    const fallback = p.Default as string | number | undefined;
    const value = context.parameters[name] ?? (fallback === undefined ? undefined : String(fallback));
    if (value === undefined) throw new RenderError(`parameter ${name} has no value and no default`);
    parameters[name] = value;
  }
  const pseudo: Record<string, string> = {
    "AWS::AccountId": context.accountId,
    "AWS::Region": context.region,
    "AWS::Partition": partition,
    "AWS::URLSuffix": context.urlSuffix ?? "amazonaws.com",
    "AWS::StackName": context.stackName,
    "AWS::StackId": `arn:${partition}:cloudformation:${context.region}:${context.accountId}:stack/${context.stackName}/00000000-0000-0000-0000-000000000000`,
  };
  const conditions = new Map<string, boolean>();

  const ref = (name: string): string => {
    const value = pseudo[name] ?? parameters[name] ?? context.resources?.[name]?.Ref;
    if (value === undefined) throw new RenderError(`Ref ${name}: no parameter, pseudo parameter or resource id`);
    return value;
  };
  const getAtt = (resource: string, attribute: string): string => {
    const value = context.resources?.[resource]?.[attribute];
    if (value === undefined) throw new RenderError(`Fn::GetAtt ${resource}.${attribute}: not given`);
    return value;
  };
  const condition = (name: string): boolean => {
    const known = conditions.get(name);
    if (known !== undefined) return known;
    const definition = template.Conditions?.[name];
    if (definition === undefined) throw new RenderError(`condition ${name} is not defined`);
    const value = resolve(definition) as boolean;
    conditions.set(name, value);
    return value;
  };
  const sub = (text: string, vars: Record<string, unknown>): string =>
    text.replace(/\$\{([^}!][^}]*)\}/g, (_all, name: string) => {
      if (name in vars) return String(vars[name]);
      const [resource, attribute] = name.split(/\.(.*)/s, 2) as [string, string | undefined];
      return attribute === undefined ? ref(resource) : getAtt(resource, attribute);
    });

  function resolve(node: unknown): unknown {
    if (Array.isArray(node)) return node.map(resolve).filter((v) => v !== NO_VALUE);
    if (node === null || typeof node !== "object") return node;
    const entries = Object.entries(node);
    if (entries.length === 1) {
      const [key, arg] = entries[0] as [string, unknown];
      switch (key) {
        case "Ref":
          return arg === "AWS::NoValue" ? NO_VALUE : ref(arg as string);
        case "Condition":
          return condition(arg as string);
        case "Fn::GetAtt": {
          const [resource, attribute] = (typeof arg === "string" ? arg.split(/\.(.*)/s, 2) : arg) as [string, string];
          return getAtt(resource, attribute);
        }
        case "Fn::Sub": {
          const [text, vars] = (Array.isArray(arg) ? arg : [arg, {}]) as [string, Record<string, unknown>];
          return sub(text, resolve(vars) as Record<string, unknown>);
        }
        case "Fn::If": {
          const [name, then, otherwise] = arg as [string, unknown, unknown];
          return resolve(condition(name) ? then : otherwise);
        }
        case "Fn::Equals": {
          const [a, b] = resolve(arg) as [unknown, unknown];
          return a === b;
        }
        case "Fn::Not":
          return !(resolve(arg) as boolean[])[0];
        case "Fn::And":
          return (resolve(arg) as boolean[]).every(Boolean);
        case "Fn::Or":
          return (resolve(arg) as boolean[]).some(Boolean);
        case "Fn::Join": {
          const [separator, parts] = resolve(arg) as [string, string[]];
          return parts.join(separator);
        }
        case "Fn::Split": {
          const [separator, text] = resolve(arg) as [string, string];
          return text.split(separator);
        }
        case "Fn::Select": {
          const [index, list] = resolve(arg) as [string | number, unknown[]];
          return list[Number(index)];
        }
        case "Fn::GetAZs":
          // Three zones is what every commercial region offers at least.
          return ["a", "b", "c"].map((zone) => `${context.region}${zone}`);
        case "Fn::ImportValue": {
          const name = resolve(arg) as string;
          const value = context.imports?.[name];
          if (value === undefined) throw new RenderError(`Fn::ImportValue ${name}: no such export given`);
          return value;
        }
      }
      if (key.startsWith("Fn::")) throw new RenderError(`${key} is not supported by the renderer`);
    }
    const out: Record<string, unknown> = {};
    for (const [key, value] of entries) {
      const resolved = resolve(value);
      if (resolved !== NO_VALUE) out[key] = resolved;
    }
    return out;
  }

  const resources: Record<string, TemplateResource> = {};
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (resource.Condition !== undefined && !condition(resource.Condition)) continue;
    resources[id] = {
      ...resource,
      ...(resource.Properties ? { Properties: resolve(resource.Properties) as Record<string, unknown> } : {}),
    };
  }
  return { ...template, Parameters: template.Parameters, Resources: resources };
}
