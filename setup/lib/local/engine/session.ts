// A shell session in a running container: one `docker exec` that runs scripts
// one after another, instead of one exec (about 0.1 s) per script. Each
// request is a line "<flag> <script in base64>"; the session writes the
// script to a file, runs it with the chosen shell (stdin from /dev/null,
// stderr merged into stdout, the flag in an environment variable), then
// prints a line with a per-session marker and the script's exit code. Output
// is passed on as it comes, holding back only what could be the start of the
// marker line.
import { randomUUID } from "node:crypto";
import { PassThrough } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import type Dockerode from "dockerode";
import { connectDocker } from "./client.ts";

/** The exit code of a script the session could not finish: the container stopped under it (SIGKILL). */
export const STOPPED_EXIT_CODE = 137;

export interface ShellSessionOptions {
  /** The program each script is run with, e.g. sh or bash. */
  readonly shell: string;
  /** Where each script is written in the container before it runs. */
  readonly scriptPath: string;
  /** The environment variable that hands each script its request's flag. */
  readonly flagVariable: string;
  /** Shell lines run once when the session starts; when they fail, the session ends. */
  readonly prelude?: string;
  /** Where output goes before the first script (e.g. the prelude's errors). */
  readonly output?: (text: string) => void;
}

export interface ShellSession {
  /**
   * Runs one script; resolves with its exit code, or STOPPED_EXIT_CODE when
   * the container stopped. Its output, stderr merged, goes to `onOutput`.
   * `flag` is one word (no white space).
   */
  run(script: string, flag: string, onOutput: (text: string) => void): Promise<number>;
  /** Ends the session. */
  close(): void;
}

export interface MarkerReader {
  /** Where output goes now; changed for each script. */
  output: (text: string) => void;
  /** A chunk of the session's output; calls `done` with the exit code when the marker line is complete. */
  write(chunk: Buffer): void;
  /** The stream ended: what was held back is passed on. */
  end(): void;
}

/**
 * Reads the session's output: passes it on as it comes, except the last
 * characters that could be the start of "\n<marker> <code>\n", and calls
 * `done` when that line arrives (what came before it is the script's output).
 * Multi-byte characters split across chunks are decoded whole.
 */
export function markerReader(
  marker: string,
  done: (code: number) => void,
  output: (text: string) => void,
): MarkerReader {
  const decoder = new StringDecoder("utf8");
  const line = new RegExp(`\\n${marker} (\\d+)\\n`);
  let pending = "";
  const reader: MarkerReader = {
    output,
    write(chunk) {
      pending += decoder.write(chunk);
      const end = line.exec(pending);
      if (end) {
        reader.output(pending.slice(0, end.index));
        pending = pending.slice(end.index + end[0].length);
        done(Number(end[1]));
        return;
      }
      const keep = Math.min(pending.length, marker.length + 16);
      reader.output(pending.slice(0, pending.length - keep));
      pending = pending.slice(pending.length - keep);
    },
    end() {
      reader.output(pending);
      pending = "";
    },
  };
  return reader;
}

/** The loop the session runs in the container: read a request, run its script, print the marker and exit code. */
export function sessionLoop(options: ShellSessionOptions, marker: string): string {
  const { shell, scriptPath, flagVariable, prelude } = options;
  return [
    ...(prelude ? [prelude] : []),
    `while IFS=' ' read -r flag encoded; do`,
    `  printf '%s' "$encoded" | base64 -d > ${scriptPath}`,
    `  ${flagVariable}="$flag" ${shell} ${scriptPath} < /dev/null 2>&1`,
    `  printf '\\n${marker} %s\\n' "$?"`,
    `done`,
  ].join("\n");
}

/** Opens a session in a running container. */
export async function openShellSession(
  container: Dockerode.Container,
  options: ShellSessionOptions,
): Promise<ShellSession> {
  const docker = (await connectDocker()).container.dockerode;
  const marker = `__lab_session_done_${randomUUID().replaceAll("-", "")}`;
  const exec = await container.exec({
    Cmd: ["sh", "-c", sessionLoop(options, marker)],
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
  });
  const stream = await exec.start({ hijack: true, stdin: true });
  const out = new PassThrough();
  docker.modem.demuxStream(stream, out, out);
  let waiting: ((code: number) => void) | undefined;
  const finish = (code: number) => {
    const resolve = waiting;
    waiting = undefined;
    resolve?.(code);
  };
  const reader = markerReader(marker, finish, options.output ?? (() => undefined));
  out.on("data", (chunk: Buffer) => reader.write(chunk));
  // The container stopped (a timeout, an interruption): the script in flight did not finish.
  const ended = () => {
    reader.end();
    finish(STOPPED_EXIT_CODE);
  };
  stream.on("end", ended);
  stream.on("error", ended);
  return {
    run(script, flag, onOutput) {
      if (!/^\S+$/.test(flag)) throw new Error(`A session flag is one word, not "${flag}"`);
      return new Promise<number>((resolve) => {
        if (stream.destroyed || !stream.writable) return resolve(STOPPED_EXIT_CODE);
        reader.output = onOutput;
        waiting = resolve;
        stream.write(`${flag} ${Buffer.from(script, "utf8").toString("base64")}\n`);
      });
    },
    close() {
      stream.end();
    },
  };
}
