// JUnit XML reports summarised the way CodeBuild's report view counts them:
// test cases, and how many passed, failed (failure or error) and were skipped.
import { readFile } from "node:fs/promises";
import { XMLParser } from "fast-xml-parser";
import { StepError } from "../../errors.ts";

export interface JunitSummary {
  readonly total: number;
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
  /** The first failing test cases, "suite › name: first line of the message". */
  readonly failures: readonly string[];
  /** e.g. "42 test cases: 41 passed, 1 failed, 0 skipped". */
  readonly line: string;
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "",
  // Messages carry numeric character references (a newline as &#10;).
  htmlEntities: true,
  // These may appear once or many times; always read them as lists.
  isArray: (name) => ["testsuite", "testcase", "failure", "error"].includes(name),
});

type Node = Record<string, unknown>;

function cases(suite: Node): Array<{ suite: string; node: Node }> {
  const name = typeof suite.name === "string" ? suite.name : "";
  const own = ((suite.testcase as Node[] | undefined) ?? []).map((node) => ({ suite: name, node }));
  const nested = ((suite.testsuite as Node[] | undefined) ?? []).flatMap(cases);
  return [...own, ...nested];
}

/** "suite › name: the first line of the failure's message", as CodeBuild's report view lists a failed case. */
function failedCase(suite: string, node: Node): string {
  const name = typeof node.name === "string" ? node.name : "?";
  const problem = ((node.failure ?? node.error) as Node[] | string[] | undefined)?.[0];
  const text = typeof problem === "string" ? problem : typeof problem?.message === "string" ? problem.message : "";
  const first = text.trim().split("\n")[0]?.slice(0, 200) ?? "";
  return `${suite} › ${name}${first ? `: ${first}` : ""}`;
}

export async function summariseJunit(files: readonly string[]): Promise<JunitSummary> {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  const failures: string[] = [];
  for (const file of files) {
    let doc: Node;
    try {
      doc = parser.parse(await readFile(file, "utf8"), true) as Node;
    } catch (error) {
      throw new StepError(
        `${file} is not a JUnit XML report: ${(error as Error).message}`,
        "Check the test reporter's output.",
      );
    }
    const roots = doc.testsuites ? [doc.testsuites as Node] : ((doc.testsuite as Node[] | undefined) ?? []);
    for (const { suite, node } of roots.flatMap(cases)) {
      if (node.failure || node.error) {
        failed++;
        if (failures.length < 5) failures.push(failedCase(suite, node));
      } else if (node.skipped !== undefined) skipped++;
      else passed++;
    }
  }
  const total = passed + failed + skipped;
  return {
    total,
    passed,
    failed,
    skipped,
    failures,
    line: `${total} test cases: ${passed} passed, ${failed} failed, ${skipped} skipped`,
  };
}
