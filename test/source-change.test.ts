import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkMessage, TIME_MESSAGE_DEFAULT, withTimeMessage } from "../setup/lib/changes/source-changes.ts";

const appTs = readFileSync(join(import.meta.dirname, "..", "code", "src", "app.ts"));

describe("the change step 05 ships", () => {
  it("starts from the message the app really has", () => {
    expect(appTs.toString()).toContain(`export const TIME_MESSAGE = ${JSON.stringify(TIME_MESSAGE_DEFAULT)};`);
  });

  it("replaces only that declaration, quoting the learner's text safely", () => {
    const [changed] = withTimeMessage([{ path: "src/app.ts", content: appTs }], 'Say "hi" \\ there');
    const text = new TextDecoder().decode(changed?.content);
    expect(text).toContain('export const TIME_MESSAGE = "Say \\"hi\\" \\\\ there";');
    expect(text.split("\n").length).toBe(appTs.toString().split("\n").length);
  });

  it("leaves other files alone", () => {
    const other = { path: "README.md", content: new TextEncoder().encode("x") };
    expect(withTimeMessage([other], "new")[0]).toBe(other);
  });

  it.each(["", " ", "x".repeat(81), "line\nbreak"])("refuses the message %j", (m) => {
    expect(() => checkMessage(m)).toThrow(/cannot be used/);
  });
});
