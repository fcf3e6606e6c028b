// Narration kept instead of printed: for tests and the benchmarks that read
// what a run said. No test framework here, so the benchmarks can use it too.
import { Writable } from "node:stream";

/** A stream that keeps what is written to it, for narration a test wants to read instead of print. */
export function narrationSink(): { readonly output: NodeJS.WriteStream; text(): string; clear(): void } {
  let text = "";
  const output = new Writable({
    write(chunk: Buffer, _e, done) {
      text += chunk.toString();
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  return {
    output,
    text: () => text,
    clear: () => {
      text = "";
    },
  };
}
