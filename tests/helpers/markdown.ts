/**
 * Just enough Markdown for the documentation tests: fenced code blocks (with the `<!-- runnable -->`
 * mark before them), links outside code, and the anchors GitHub gives headings.
 */

/** The line that marks the next TypeScript block as runnable (see docs/development.md). */
export const RUNNABLE_MARK = "<!-- runnable -->";

/** A fenced code block: its info string, its text and the line its fence opens on (1-based). */
export interface CodeBlock {
  info: string;
  code: string;
  line: number;
  /** The block follows a `RUNNABLE_MARK` line (blank lines between allowed). */
  runnable: boolean;
}

/** A line of the document outside code blocks, with its 1-based number. */
interface ProseLine {
  text: string;
  line: number;
}

/** Splits a document into its top-level fenced code blocks and the lines outside them. */
function scan(markdown: string): { blocks: CodeBlock[]; prose: ProseLine[] } {
  const lines = markdown.split("\n");
  const blocks: CodeBlock[] = [];
  const prose: ProseLine[] = [];
  let open: {
    fence: string;
    info: string;
    line: number;
    body: string[];
    runnable: boolean;
  } | null = null;
  let marked = false;
  for (const [index, text] of lines.entries()) {
    if (open) {
      const close = /^ {0,3}(`{3,}|~{3,})\s*$/.exec(text);
      if (close && close[1]![0] === open.fence[0] && close[1]!.length >= open.fence.length) {
        blocks.push({
          info: open.info,
          code: open.body.join("\n") + "\n",
          line: open.line,
          runnable: open.runnable,
        });
        open = null;
      } else {
        open.body.push(text);
      }
      continue;
    }
    const start = /^ {0,3}(`{3,}|~{3,})(.*)$/.exec(text);
    if (start) {
      open = {
        fence: start[1]!,
        info: start[2]!.trim(),
        line: index + 1,
        body: [],
        runnable: marked,
      };
      marked = false;
      continue;
    }
    prose.push({ text, line: index + 1 });
    if (text.trim() === RUNNABLE_MARK) marked = true;
    else if (text.trim() !== "") marked = false;
  }
  return { blocks, prose };
}

/** The document's fenced code blocks, in order. */
export function codeBlocks(markdown: string): CodeBlock[] {
  return scan(markdown).blocks;
}

/** A link's target as written, with the line it is on. */
export interface Link {
  target: string;
  line: number;
}

/** Every link target outside code: inline links and images, and reference definitions. */
export function linksOf(markdown: string): Link[] {
  const links: Link[] = [];
  for (const { text, line } of scan(markdown).prose) {
    const outsideCode = text.replace(/(`+)[\s\S]*?\1/g, "");
    const definition = /^ {0,3}\[[^\]]+\]:\s+<?([^\s>]+)>?/.exec(outsideCode);
    if (definition) links.push({ target: definition[1]!, line });
    for (const match of outsideCode.matchAll(/\]\(<?([^)\s>]+)>?(?:\s+"[^"]*")?\)/g)) {
      links.push({ target: match[1]!, line });
    }
  }
  return links;
}

/** GitHub's anchor for a heading's text: lower case, punctuation out, spaces as hyphens. */
export function slugOf(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/`/g, "")
    .replace(/<[^>]+>/g, "");
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
    .replace(/ /g, "-");
}

/** The anchors of the document's headings, a repeated one numbered as GitHub does (`-1`, `-2`). */
export function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const { text } of scan(markdown).prose) {
    const heading = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(text);
    if (!heading) continue;
    const slug = slugOf(heading[1]!);
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}
