// A build's log as CodeBuild writes it: the commands' own output, line by
// line, between CodeBuild's "[Container] <time> …" lines.

export interface BuildLog {
  /** Every line so far. */
  readonly lines: readonly string[];
  /** The commands' output, as it comes; complete lines are written, the rest waits for more. */
  readonly output: (text: string) => void;
  /** Writes what is left of a line that had no newline. */
  readonly flush: () => void;
  /** Writes one of CodeBuild's own lines: "[Container] 2026-01-02 03:04:05 <message>". */
  readonly container: (message: string) => void;
}

const timestamp = () => new Date().toISOString().replace("T", " ").slice(0, 19);

export function buildLog(onLine?: (line: string) => void): BuildLog {
  const lines: string[] = [];
  let partial = "";
  const emit = (line: string) => {
    lines.push(line);
    onLine?.(line);
  };
  return {
    lines,
    output(text) {
      const complete = (partial + text).split("\n");
      partial = complete.pop() ?? "";
      for (const line of complete) emit(line);
    },
    flush() {
      if (partial !== "") emit(partial);
      partial = "";
    },
    container(message) {
      emit(`[Container] ${timestamp()} ${message}`);
    },
  };
}
