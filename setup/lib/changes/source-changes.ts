// The changes the lessons ship to the app's source: step 05's new /time message, step 06's release that
// listens on 127.0.0.1 only, step 08's slow greeting and its fix. Lesson content, not AWS: the pipeline
// ships whatever source it is given.
import { ConfigError } from "../errors.ts";
import type { SourceFile } from "../aws/source.ts";

/** The message the app ships with (code/src/app.ts; a test keeps the two equal). */
export const TIME_MESSAGE_DEFAULT = "Automation for the People";
/** What step 05 changes it to when the learner gives no message of their own. */
export const TIME_MESSAGE_SHIPPED = "Automation for the People, continuously delivered";

const APP_FILE = "src/app.ts";
const DECLARATION = /^export const TIME_MESSAGE = .*;$/m;

export function checkMessage(message: string): string {
  const text = message.trim();
  // Printable only: no control characters (code points below 32, and 127).
  const printable = [...text].every((ch) => (ch.codePointAt(0) ?? 0) >= 32 && ch.codePointAt(0) !== 127);
  if (text.length < 1 || text.length > 80 || !printable) {
    throw new ConfigError(
      `--message "${message}" cannot be used.`,
      'Give 1 to 80 printable characters, e.g. --message "Hello from my pipeline".',
    );
  }
  return text;
}

/** The source with the /time message replaced; throws if the app no longer declares it as expected. */
export function withTimeMessage(files: readonly SourceFile[], message: string): SourceFile[] {
  return files.map((f) => {
    if (f.path !== APP_FILE) return f;
    const text = new TextDecoder().decode(f.content);
    if (!DECLARATION.test(text)) {
      throw new Error(`${APP_FILE} no longer declares \`export const TIME_MESSAGE = "…";\`, which step 05 changes`);
    }
    return {
      path: f.path,
      content: new TextEncoder().encode(
        text.replace(DECLARATION, `export const TIME_MESSAGE = ${JSON.stringify(message)};`),
      ),
    };
  });
}

const SERVER_FILE = "src/server.ts";
const LISTEN = "app.listen(config.port, config.host)";

/**
 * The release that goes wrong (step 06): the app listens on 127.0.0.1 only.
 * Every unit test still passes (they call it on 127.0.0.1) and it answers
 * inside its own container, but the load balancer, reaching the task at its
 * own address, is refused: the task never passes a health check.
 */
export function withLoopbackOnly(files: readonly SourceFile[]): SourceFile[] {
  return files.map((f) => {
    if (f.path !== SERVER_FILE) return f;
    const text = new TextDecoder().decode(f.content);
    if (!text.includes(LISTEN)) throw new Error(`${SERVER_FILE} no longer calls \`${LISTEN}\`, which step 06 changes`);
    return {
      path: f.path,
      content: new TextEncoder().encode(text.replace(LISTEN, 'app.listen(config.port, "127.0.0.1")')),
    };
  });
}

const ROOT_ROUTE = `  app.get("/", (_req, res) => {
    res.json(identity);
  });`;

/**
 * Lesson 08's slow release: GET / waits 1.5 s before it answers, as if it
 * asked a slow service on every request. Every test passes and every health
 * check too (/health is untouched): only users feel it, in the p90 the latency
 * alarm watches.
 */
export function withSlowGreeting(files: readonly SourceFile[]): SourceFile[] {
  return replaceRootRoute(
    files,
    `  app.get("/", (_req, res) => {
    // Ask the greeting service on every request (it takes its time).
    setTimeout(() => res.json(identity), 1_500);
  });`,
  );
}

/** Lesson 08's fix: the greeting looked up once, at start, so no request waits on it. */
export function withCachedGreeting(files: readonly SourceFile[]): SourceFile[] {
  return replaceRootRoute(
    files,
    `  app.get("/", (_req, res) => {
    // The greeting is looked up once, at start: no request waits on it.
    res.json(identity);
  });`,
  );
}

function replaceRootRoute(files: readonly SourceFile[], route: string): SourceFile[] {
  return files.map((f) => {
    if (f.path !== APP_FILE) return f;
    const text = new TextDecoder().decode(f.content);
    if (!text.includes(ROOT_ROUTE)) throw new Error(`${APP_FILE} no longer answers GET / as lesson 08 changes it`);
    return { path: f.path, content: new TextEncoder().encode(text.replace(ROOT_ROUTE, route)) };
  });
}
