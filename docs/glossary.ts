// The glossary's terms and how a page's first use of each becomes a link to
// it (docs/glossary.md). Only prose is touched: never code, headings, tables,
// comments, transcripts or an existing link.

/** Each glossary heading (its anchor is GitHub's slug of it) and the words that use the term. */
export const TERMS: ReadonlyArray<{ readonly heading: string; readonly words: RegExp }> = [
  { heading: "ALB", words: /\b(Application Load Balancer|ALB|load balancer)\b/i },
  { heading: "Artifact", words: /\bartifacts?\b/i },
  { heading: "Buildspec", words: /\bbuildspecs?\b/i },
  { heading: "Change set", words: /\bchange sets?\b/i },
  { heading: "Circuit breaker", words: /\bcircuit breaker\b/i },
  { heading: "CloudFormation stack", words: /\b(CloudFormation stacks?|stacks?)\b/ },
  { heading: "CloudWatch alarm", words: /\b(CloudWatch alarms?|alarms?)\b/ },
  { heading: "CodeBuild", words: /\bCodeBuild\b/ },
  { heading: "CodeCommit", words: /\bCodeCommit\b/ },
  { heading: "CodePipeline", words: /\b(CodePipeline|pipeline)\b/ },
  { heading: "Container image", words: /\b(container images?|images?)\b/ },
  { heading: "ECR", words: /\bECR\b/ },
  { heading: "ECS", words: /\bECS\b/ },
  { heading: "EventBridge rule", words: /\bEventBridge( rule)?\b/ },
  { heading: "Fargate", words: /\bFargate\b/ },
  { heading: "Health check", words: /\bhealth checks?\b/i },
  { heading: "IAM role", words: /\bIAM roles?\b/ },
  { heading: "JWT", words: /\b(JWT|token)\b/ },
  { heading: "Percentile", words: /\bpercentiles?\b/i },
  { heading: "Permissions boundary", words: /\bpermissions boundary\b/i },
  { heading: "Prefix", words: /\bprefix\b/ },
  { heading: "Rehearsal", words: /\b(local rehearsal|rehearsal)\b/i },
  { heading: "Rolling deployment", words: /\brolling (deployment|deploy)\b/i },
  { heading: "Secrets Manager", words: /\bSecrets Manager\b/ },
  { heading: "SNS topic", words: /\b(SNS topics?|topics?)\b/ },
  { heading: "SQS queue", words: /\b(SQS queues?|inbox queue|SQS)\b/ },
  { heading: "Subnet", words: /\bsubnets?\b/i },
  { heading: "Target group", words: /\btarget groups?\b/i },
  { heading: "Task definition", words: /\btask definitions?\b/i },
  { heading: "VPC", words: /\bVPC\b/ },
];

export const anchor = (heading: string): string => heading.toLowerCase().replaceAll(" ", "-");

/** Spans of a prose line a term must not be found in: inline code, links, HTML. */
const PROTECTED = /`[^`]*`|\[[^\]]*\]\([^)]*\)|<[^>]+>/g;

/** Whether a line is prose: not a heading, table row, comment or list of commands. */
const isProse = (line: string): boolean => line.trim() !== "" && !/^\s*(#|\||<!--|```)/.test(line);

/** Where `words` first occurs in the page's prose, outside protected spans: [line, start, end], if anywhere. */
function firstUse(lines: readonly string[], words: RegExp): [number, number, number] | undefined {
  let fenced = false;
  for (const [i, line] of lines.entries()) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    if (fenced || !isProse(line)) continue;
    let from = 0;
    for (const span of [...line.matchAll(PROTECTED), { index: line.length, 0: "" }]) {
      const gap = line.slice(from, span.index);
      const hit = new RegExp(words.source, words.flags.replace("g", "")).exec(gap);
      if (hit) return [i, from + hit.index, from + hit.index + hit[0].length];
      from = (span.index ?? 0) + span[0].length;
    }
  }
  return undefined;
}

/** Whether a page's first use of a term is the glossary link (or the page never uses it in prose). */
export function unlinkedTerms(markdown: string, glossary: string): string[] {
  const lines = markdown.split("\n");
  return TERMS.filter(({ heading, words }) => {
    const link = `](${glossary}#${anchor(heading)})`;
    if (markdown.includes(link)) return false;
    return firstUse(lines, words) !== undefined;
  }).map((t) => t.heading);
}

/** The page with each term's first prose use linked to the glossary (terms already linked are left). */
export function linkFirstUses(markdown: string, glossary: string): string {
  const lines = markdown.split("\n");
  for (const { heading, words } of TERMS) {
    const target = `${glossary}#${anchor(heading)}`;
    if (markdown.includes(`](${target})`)) continue;
    const use = firstUse(lines, words);
    if (!use) continue;
    const [i, start, end] = use;
    const line = lines[i] ?? "";
    lines[i] = `${line.slice(0, start)}[${line.slice(start, end)}](${target})${line.slice(end)}`;
    markdown = lines.join("\n");
  }
  return lines.join("\n");
}
