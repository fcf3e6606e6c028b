// The commands `npm run images` runs (docker, debootstrap, chroot, npm, tar),
// through zx: its quoting, timeouts and pipes. A failure says which command
// and ends with the last lines it printed; a command can also append what it
// prints to a log file, for the person who wants to follow a long build.
import { createWriteStream } from "node:fs";
import { $, type ProcessOutput } from "zx";

export interface RunOptions {
  /** Also appends the command's output to this file. */
  readonly logFile?: string;
  readonly timeoutMs?: number;
}

/** The last lines of what a failed command printed, for its error. */
const tail = (output: string) => output.trim().split("\n").slice(-8).join("\n");

/** Runs a command; resolves with its output (stdout and stderr), rejects with the tail of it. */
export async function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
  const log = options.logFile ? createWriteStream(options.logFile, { flags: "a" }) : undefined;
  log?.write(`$ ${command} ${args.join(" ")}\n`);
  const child = $({
    quiet: true,
    nothrow: true,
    ...(options.timeoutMs ? { timeout: options.timeoutMs } : {}),
  })`${command} ${args}`;
  if (log) {
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
  }
  const out: ProcessOutput = await child;
  log?.end();
  if (out.exitCode === 0) return out.stdall;
  const why = out.signal ? `was stopped (${out.signal})` : `exited with ${out.exitCode}`;
  const printed = tail(out.stdall);
  throw new Error(`\`${command} ${args.slice(0, 3).join(" ")}…\` ${why}${printed ? `:\n${printed}` : ""}`);
}

/** `tar -C dir -c . | docker import …`: turns a root filesystem into an image. */
export async function importRootfs(rootfs: string, image: string, changes: readonly string[]): Promise<void> {
  const out = await $({ quiet: true, nothrow: true })`tar -C ${rootfs} -c .`.pipe(
    $({ quiet: true, nothrow: true })`docker import ${changes.flatMap((c) => ["--change", c])} - ${image}`,
  );
  if (out.exitCode !== 0) throw new Error(`docker import ${image} exited with ${out.exitCode}: ${tail(out.stdall)}`);
}

/** What a command run in a fresh container of the image prints (e.g. its versions). */
export const runInImage = (image: string, args: readonly string[]): Promise<string> =>
  run("docker", ["run", "--rm", image, ...args]);
