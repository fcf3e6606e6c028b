// A buildspec (version 0.2) read the way CodeBuild reads it: its phases in
// CodeBuild's order, env variables and exported variables, reports and
// artifacts. Anything the local build stand-in cannot do faithfully (secrets
// from Parameter Store or Secrets Manager, secondary artifacts, run-as) is
// refused by name instead of being skipped.
import { parse, YAMLParseError } from "yaml";
import { StepError } from "../../errors.ts";

export const PHASES = ["install", "pre_build", "build", "post_build"] as const;
export type PhaseName = (typeof PHASES)[number];

export interface Phase {
  readonly commands: readonly string[];
  readonly finally: readonly string[];
  /** ABORT (CodeBuild's default) ends the build at a failure; CONTINUE goes on to the next phase. */
  readonly onFailure: "ABORT" | "CONTINUE";
}

export interface FileSet {
  readonly files: readonly string[];
  readonly baseDirectory: string;
  readonly discardPaths: boolean;
}

export interface Buildspec {
  readonly variables: Readonly<Record<string, string>>;
  readonly exportedVariables: readonly string[];
  /** The shell each command runs in; CodeBuild's default on Linux is sh. */
  readonly shell: string;
  readonly phases: Readonly<Partial<Record<PhaseName, Phase>>>;
  readonly reports: Readonly<Record<string, FileSet & { readonly fileFormat: string }>>;
  readonly artifacts?: FileSet;
}

// Not listed, and ignored: env.git-credential-helper, which signs git in to CodeCommit. The rehearsal's
// source is an S3 zip, so a build here has no git to sign in to.
const UNSUPPORTED: ReadonlyArray<[string[], string]> = [
  [["env", "parameter-store"], "values from Parameter Store"],
  [["env", "secrets-manager"], "values from Secrets Manager"],
  [["run-as"], "run-as"],
  [["artifacts", "secondary-artifacts"], "secondary artifacts"],
  [["artifacts", "exclude-paths"], "exclude-paths"],
  [["batch"], "batch builds"],
];

type Raw = Record<string, unknown>;

const isMap = (value: unknown): value is Raw => typeof value === "object" && value !== null && !Array.isArray(value);

/** A string, number or boolean as text; anything else fails with `why`. */
function scalar(value: unknown, fail: () => never): string {
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return String(value);
  return fail();
}

function strings(value: unknown, where: string, fail: (why: string) => never): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) fail(`${where} must be a list`);
  return (value as unknown[]).map((item, i) =>
    scalar(item, () => fail(`${where}[${i}] must be a string (quote a command that holds ": ")`)),
  );
}

/** "yes"/"true" as CodeBuild accepts them (YAML may already have made them booleans). */
const yes = (value: unknown): boolean => value === true || value === "yes" || value === "true";

function fileSet(raw: Raw, where: string, fail: (why: string) => never): FileSet {
  const files = strings(raw.files, `${where}.files`, fail);
  if (files.length === 0) fail(`${where}.files must name at least one file or pattern`);
  return {
    files,
    baseDirectory:
      raw["base-directory"] === undefined
        ? "."
        : scalar(raw["base-directory"], () => fail(`${where}.base-directory must be a path`)),
    discardPaths: yes(raw["discard-paths"]),
  };
}

/**
 * Parses a buildspec. `file` names it in errors, e.g. "buildspec.yml in the
 * Source artifact"; every error is one sentence naming the file and the part.
 */
export function parseBuildspec(text: string, file: string): Buildspec {
  const fail = (why: string): never => {
    throw new StepError(
      `${file}: ${why}.`,
      "Fix the buildspec in code/, then run the same command again (step 02 seeds the change).",
    );
  };
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (error) {
    if (error instanceof YAMLParseError) fail(`is not valid YAML (${error.message.split("\n")[0]})`);
    throw error;
  }
  if (!isMap(raw)) return fail("is not a YAML map with version, phases, …");
  if (String(raw.version) !== "0.2") fail(`version is ${String(raw.version)}; the rehearsal runs version 0.2`);
  for (const [path, what] of UNSUPPORTED) {
    let node: unknown = raw;
    for (const key of path) node = isMap(node) ? node[key] : undefined;
    if (node !== undefined) fail(`${path.join(".")} (${what}) is not something the local build stand-in can do`);
  }
  const env = isMap(raw.env) ? raw.env : {};
  const variables: Record<string, string> = {};
  for (const [name, value] of Object.entries(isMap(env.variables) ? env.variables : {}))
    variables[name] = scalar(value, () => fail(`env.variables.${name} must be a string`));

  const phases: Partial<Record<PhaseName, Phase>> = {};
  const rawPhases = raw.phases;
  if (!isMap(rawPhases)) return fail("has no phases");
  for (const name of Object.keys(rawPhases)) {
    if (!(PHASES as readonly string[]).includes(name)) fail(`phases.${name} is not a phase (${PHASES.join(", ")})`);
  }
  for (const name of PHASES) {
    const phase = rawPhases[name];
    if (phase === undefined || phase === null) continue;
    if (!isMap(phase)) fail(`phases.${name} must be a map with commands`);
    const p = phase as Raw;
    const onFailure =
      p["on-failure"] === undefined
        ? "ABORT"
        : scalar(p["on-failure"], () => fail(`phases.${name}.on-failure must be a word`));
    if (onFailure !== "ABORT" && onFailure !== "CONTINUE") fail(`phases.${name}.on-failure must be ABORT or CONTINUE`);
    phases[name] = {
      commands: strings(p.commands, `phases.${name}.commands`, fail),
      finally: strings(p.finally, `phases.${name}.finally`, fail),
      onFailure: onFailure as Phase["onFailure"],
    };
  }

  const reports: Record<string, FileSet & { fileFormat: string }> = {};
  for (const [name, report] of Object.entries(isMap(raw.reports) ? raw.reports : {})) {
    if (!isMap(report)) fail(`reports.${name} must be a map with files`);
    const format = scalar((report as Raw)["file-format"] ?? "JUNITXML", () =>
      fail(`reports.${name}.file-format must be a word`),
    );
    if (format !== "JUNITXML") fail(`reports.${name}.file-format ${format}: the rehearsal reads JUNITXML reports`);
    reports[name] = { ...fileSet(report as Raw, `reports.${name}`, fail), fileFormat: format };
  }
  return {
    variables,
    exportedVariables: strings(env["exported-variables"], "env.exported-variables", fail),
    shell: env.shell === undefined ? "sh" : scalar(env.shell, () => fail("env.shell must be a shell's name")),
    phases,
    reports,
    ...(isMap(raw.artifacts) ? { artifacts: fileSet(raw.artifacts, "artifacts", fail) } : {}),
  };
}
