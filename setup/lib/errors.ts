// Typed errors. Each carries the exit code bin/ should use and a hint that
// tells the person what to do next. Only bin/ turns them into an exit.

export const EXIT = Object.freeze({
  ok: 0,
  stepFailed: 1,
  badInput: 2,
  interrupted: 130,
});

export class LabError extends Error {
  readonly exitCode: number;
  readonly hint: string;

  constructor(message: string, options: { hint: string; exitCode?: number; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? EXIT.stepFailed;
  }
}

/** Bad flags, environment or input: exit 2. */
export class ConfigError extends LabError {
  constructor(message: string, hint: string, cause?: unknown) {
    super(message, { hint, exitCode: EXIT.badInput, cause });
  }
}

/** Something this machine lacks (Docker, an image): exit 2, it is set-up, not a failed step. */
export class PrerequisiteError extends LabError {
  constructor(message: string, hint: string, cause?: unknown) {
    super(message, { hint, exitCode: EXIT.badInput, cause });
  }
}

/** A step ran and failed: exit 1. */
export class StepError extends LabError {
  constructor(message: string, hint: string, cause?: unknown) {
    super(message, { hint, exitCode: EXIT.stepFailed, cause });
  }
}

/** Ctrl-C: exit 130; everything made so far is kept and a re-run carries on. */
export class InterruptedError extends LabError {
  constructor() {
    super("Interrupted.", {
      hint: "Nothing is lost: run the same command again to carry on from where it stopped, or bin/teardown to remove everything.",
      exitCode: EXIT.interrupted,
    });
  }
}

/** Whether an AWS SDK error is one of these service exceptions (the SDK names each error by its code). */
export function isAwsError(error: unknown, ...names: string[]): boolean {
  return error instanceof Error && names.includes(error.name);
}

/**
 * Whether an SDK call failed because the service has no endpoint in the region: its host name does
 * not resolve (e.g. CodeCommit in a region that does not offer it). The SDK passes Node's DNS error on.
 */
export function isEndpointMissing(error: unknown): boolean {
  const e = error as { code?: string; message?: string } | undefined;
  return e?.code === "ENOTFOUND" || /getaddrinfo ENOTFOUND/.test(e?.message ?? "");
}
