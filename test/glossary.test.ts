// The glossary and the links to it from each page's first use of a term.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { anchor, linkFirstUses, TERMS, unlinkedTerms } from "../docs/glossary.ts";

const glossary = readFileSync(join(import.meta.dirname, "..", "docs", "glossary.md"), "utf8");

describe("the glossary", () => {
  it("has an entry for every term the pages link, in alphabetical order", () => {
    const headings = [...glossary.matchAll(/^### (.+)$/gm)].map((m) => m[1]);
    expect(headings).toEqual(TERMS.map((t) => t.heading));
    expect(headings).toEqual([...headings].sort((a, b) => (a ?? "").localeCompare(b ?? "")));
    expect(anchor("Task definition")).toBe("task-definition");
  });

  it("links only a term's first use in prose: never code, headings, tables, transcripts or links", () => {
    const page = [
      "# The VPC lesson",
      "",
      "| VPC | cell |",
      "",
      "Run `bin/run --vpc` and see [the VPC](https://example.org/vpc).",
      "",
      "```text",
      "VPC created",
      "```",
      "",
      "A VPC holds two subnets; this VPC is yours.",
    ].join("\n");
    const linked = linkFirstUses(page, "../glossary.md");
    expect(linked.split("\n").at(-1)).toBe(
      "A [VPC](../glossary.md#vpc) holds two [subnets](../glossary.md#subnet); this VPC is yours.",
    );
    expect(linked.split("\n").slice(0, -1)).toEqual(page.split("\n").slice(0, -1));
    expect(unlinkedTerms(page, "../glossary.md")).toEqual(["Subnet", "VPC"]);
    expect(unlinkedTerms(linked, "../glossary.md")).toEqual([]);
    expect(linkFirstUses(linked, "../glossary.md")).toBe(linked);
  });
});
