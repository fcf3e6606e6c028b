// CodeBuild's rules for running a buildspec, over a build shell (wherever it
// runs: the build container, or anything else that runs scripts):
//   - version 0.2: one shell state through the whole build (variables and the
//     working directory carry from command to command and phase to phase);
//   - a failing command ends its phase; the phase's `finally` commands still run;
//   - INSTALL or PRE_BUILD failing ends the build; BUILD failing still runs
//     POST_BUILD (with CODEBUILD_BUILD_SUCCEEDING=0); a phase with
//     on-failure CONTINUE goes on to the next phase; UPLOAD_ARTIFACTS is
//     attempted after BUILD and POST_BUILD whatever they did;
//   - reports and artifacts whose files match nothing fail UPLOAD_ARTIFACTS;
//   - exported variables are read only from a build that succeeded;
//   - at the project's timeout the build is stopped where it stands;
//   - a buildspec that cannot be read fails DOWNLOAD_SOURCE (YAML_FILE_ERROR).
import { StepError } from "../../errors.ts";
import { type Buildspec, PHASES, parseBuildspec } from "./buildspec.ts";
import type { JunitSummary } from "./junit.ts";
import type { BuildLog } from "./log.ts";
import { STATE_DIR } from "./paths.ts";
import { collectUploads } from "./upload.ts";

export type BuildStatus = "SUCCEEDED" | "FAILED" | "TIMED_OUT" | "STOPPED";

export interface PhaseResult {
  readonly name: string;
  readonly status: "SUCCEEDED" | "FAILED" | "SKIPPED";
  readonly seconds: number;
}

export interface BuildResult {
  readonly status: BuildStatus;
  readonly phases: readonly PhaseResult[];
  /** CodeBuild's summary of a failure, e.g. "Phase: BUILD, Code: COMMAND_EXECUTION_ERROR, Message: …". */
  readonly failure?: string;
  readonly log: readonly string[];
  readonly exportedVariables: Readonly<Record<string, string>>;
  readonly reports: ReadonlyArray<{ readonly name: string; readonly summary: JunitSummary }>;
  /** The artifacts section, zipped as CodePipeline stores an output artifact. */
  readonly artifact?: Uint8Array;
}

/** Where the build's commands run, one after another, in one session. */
export interface BuildShell {
  /**
   * Runs one script with the buildspec's shell, SUCCEEDING_VARIABLE set to 1
   * or 0; resolves with its exit code. Its output, stderr merged, goes to `onOutput`.
   */
  run(script: string, succeeding: boolean, onOutput: (text: string) => void): Promise<number>;
  /** Stops the build where it stands (the timeout): the script in flight ends, as does any later one. */
  stop(): void;
  /** The source directory as the build left it, copied to this machine; resolves with the copy's path. */
  collectSource(): Promise<string>;
}

/** The variable through which the shell hands each script whether the build is still succeeding. */
export const SUCCEEDING_VARIABLE = "LAB_BUILD_SUCCEEDING";

/**
 * One buildspec command in the build's shell state: restore the variables
 * and directory the previous command left, run it in this same shell (so
 * its assignments and `cd` persist), save them again. `set -a` keeps plain
 * assignments (IMAGE_TAG=…) for later commands, as CodeBuild does. The shell
 * state lives in `stateDir`, whose `dir` file the build starts with the source directory in.
 */
export function commandScript(command: string, stateDir = STATE_DIR): string {
  const quoted = `'${command.replaceAll("'", `'\\''`)}'`;
  return [
    `__lab_succeeding="$${SUCCEEDING_VARIABLE}"`,
    `set -a`,
    `[ -f ${stateDir}/env ] && . ${stateDir}/env`,
    `cd "$(cat ${stateDir}/dir)"`,
    `CODEBUILD_BUILD_SUCCEEDING="$__lab_succeeding"`,
    `eval ${quoted}`,
    `__lab_exit=$?`,
    `export -p | grep -v -e '^export __lab_' -e '^export ${SUCCEEDING_VARIABLE}=' > ${stateDir}/env`,
    `pwd > ${stateDir}/dir`,
    `exit $__lab_exit`,
  ].join("\n");
}

/** Prints the exported variables' values, from the state the last command left, as one JSON object. */
export function exportScript(names: readonly string[], stateDir = STATE_DIR): string {
  const list = JSON.stringify(names);
  return `set -a; . ${stateDir}/env; node -e 'process.stdout.write(JSON.stringify(Object.fromEntries(${list}.map((n) => [n, process.env[n] ?? ""]))))'`;
}

/** The build's environment, lowest precedence first: the buildspec's own variables, then `layers` in order. */
export function buildEnvironment(
  spec: Pick<Buildspec, "variables">,
  layers: ReadonlyArray<Readonly<Record<string, string>>>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const layer of [spec.variables, ...layers]) Object.assign(env, layer);
  return env;
}

/**
 * The buildspec from the primary source. One CodeBuild cannot read fails the
 * build in DOWNLOAD_SOURCE with YAML_FILE_ERROR: that result is returned instead.
 */
export function readBuildspec(
  source: ReadonlyMap<string, Uint8Array>,
  file: string,
  log: BuildLog,
): { spec: Buildspec } | { failed: BuildResult } {
  const yamlError = (message: string) => {
    log.container(`Phase context status code: YAML_FILE_ERROR Message: ${message}`);
    const failed: BuildResult = {
      status: "FAILED",
      phases: [{ name: "DOWNLOAD_SOURCE", status: "FAILED", seconds: 0 }],
      failure: `Phase: DOWNLOAD_SOURCE, Code: YAML_FILE_ERROR, Message: ${message}`,
      log: log.lines,
      exportedVariables: {},
      reports: [],
    };
    return { failed };
  };
  const bytes = source.get(file);
  if (!bytes) return yamlError(`${file} is not in the source`);
  try {
    return { spec: parseBuildspec(new TextDecoder().decode(bytes), file) };
  } catch (error) {
    if (error instanceof StepError) return yamlError(error.message);
    throw error;
  }
}

export interface PhasesInput {
  readonly spec: Buildspec;
  readonly shell: BuildShell;
  readonly log: BuildLog;
  readonly timeoutMinutes: number;
  /** When the build started (performance.now()); the timeout counts from there. Now, when unset. */
  readonly startedAt?: number;
  /** How long DOWNLOAD_SOURCE (done before the phases) took. */
  readonly downloadSeconds: number;
  readonly signal?: AbortSignal;
}

/** Runs the buildspec's phases, UPLOAD_ARTIFACTS and the exported variables to the build's end. */
export async function runPhases(input: PhasesInput): Promise<BuildResult> {
  const { spec, shell, log } = input;
  const phases: PhaseResult[] = [{ name: "DOWNLOAD_SOURCE", status: "SUCCEEDED", seconds: input.downloadSeconds }];
  let failure: string | undefined;
  let timedOut = false;
  // The project's TimeoutInMinutes: the build is stopped where it stands, as CodeBuild stops it.
  const elapsed = performance.now() - (input.startedAt ?? performance.now());
  const deadline = setTimeout(
    () => {
      timedOut = true;
      shell.stop();
    },
    Math.max(0, input.timeoutMinutes * 60_000 - elapsed),
  );
  try {
    let succeeding = true;
    let stopBuild = false;
    for (const name of PHASES) {
      const phase = spec.phases[name];
      const label = name.toUpperCase();
      // After INSTALL or PRE_BUILD failed, nothing else runs; after BUILD failed, POST_BUILD still does.
      if (stopBuild || timedOut || !phase) {
        if (phase) phases.push({ name: label, status: "SKIPPED", seconds: 0 });
        continue;
      }
      input.signal?.throwIfAborted();
      const started = performance.now();
      log.container(`Entering phase ${label}`);
      let phaseFailed = false;
      const runAll = async (commands: readonly string[]) => {
        for (const command of commands) {
          log.container(`Running command ${command}`);
          const code = await shell.run(commandScript(command), succeeding, log.output);
          log.flush();
          if (timedOut) {
            failure = `Phase: ${label}, Code: BUILD_TIMED_OUT, Message: Build has timed out after ${input.timeoutMinutes} minutes`;
            return false;
          }
          if (code !== 0) {
            log.container(`Command did not exit successfully ${command} exit status ${code}`);
            failure ??= `Phase: ${label}, Code: COMMAND_EXECUTION_ERROR, Message: Error while executing command: ${command}. Reason: exit status ${code}`;
            return false;
          }
        }
        return true;
      };
      if (!(await runAll(phase.commands))) phaseFailed = true;
      if (phase.finally.length > 0 && !(await runAll(phase.finally))) phaseFailed = true;
      const seconds = (performance.now() - started) / 1000;
      log.container(`Phase complete: ${label} State: ${phaseFailed ? "FAILED" : "SUCCEEDED"}`);
      phases.push({ name: label, status: phaseFailed ? "FAILED" : "SUCCEEDED", seconds });
      if (!phaseFailed) continue;
      succeeding = false;
      if (phase.onFailure === "CONTINUE") continue;
      if (name === "install" || name === "pre_build") stopBuild = true;
    }

    let reports: BuildResult["reports"] = [];
    let artifact: Uint8Array | undefined;
    const exportedVariables: Record<string, string> = {};
    // UPLOAD_ARTIFACTS follows BUILD and POST_BUILD whatever they did; not a build that ended earlier.
    if (!stopBuild && !timedOut) {
      const started = performance.now();
      log.container("Entering phase UPLOAD_ARTIFACTS");
      const upload = await collectUploads(await shell.collectSource(), spec, log);
      ({ reports, artifact } = upload);
      const failed = upload.errors.length > 0;
      if (failed) {
        const message = upload.errors.join(" ");
        failure ??= `Phase: UPLOAD_ARTIFACTS, Code: CLIENT_ERROR, Message: ${message}`;
        log.container(`Phase context status code: CLIENT_ERROR Message: ${message}`);
        succeeding = false;
      }
      phases.push({
        name: "UPLOAD_ARTIFACTS",
        status: failed ? "FAILED" : "SUCCEEDED",
        seconds: (performance.now() - started) / 1000,
      });
    }
    if (succeeding && spec.exportedVariables.length > 0) {
      let json = "";
      await shell.run(exportScript(spec.exportedVariables), true, (t) => (json += t));
      Object.assign(exportedVariables, JSON.parse(json) as Record<string, string>);
    }
    const status: BuildStatus = timedOut ? "TIMED_OUT" : succeeding ? "SUCCEEDED" : "FAILED";
    log.container(`Build ${status.toLowerCase()}`);
    return {
      status,
      phases,
      ...(failure && status !== "SUCCEEDED" ? { failure } : {}),
      log: log.lines,
      exportedVariables,
      reports,
      ...(artifact && status === "SUCCEEDED" ? { artifact } : {}),
    };
  } finally {
    clearTimeout(deadline);
  }
}
