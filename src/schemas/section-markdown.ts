/**
 * A section's Markdown confined to its section (issue 23, prompt injection through sources): a
 * section body is written by a model that read sources, so it may carry text a source planted to
 * forge the report's own structure (a second `#` title, a `## References` list, footnote or link
 * definitions that rebind the report's numbered citations) or active HTML (`<script>`,
 * `javascript:` links). The report's structure is the synthesizer's alone.
 */

/** The report's own headings: a section's heading of this name is shown as text, not a heading. */
const REPORT_HEADINGS = /^(references|sources|bibliography|works cited|citations?)$/i;

/** A link or image target whose scheme runs code or smuggles a document. */
const ACTIVE_LINK = /\]\(\s*<?\s*(?:javascript|vbscript|data|file):[^)]*\)/gi;

/** A raw HTML tag, comment or declaration (`<script`, `</div`, `<!--`, `<?xml`). */
const RAW_HTML = /<(?=[A-Za-z/!?])/g;

/**
 * `body` with every heading of level 1 or 2 demoted to level 3, a heading named like the report's
 * own (References, Sources...) turned into plain bold text, footnote and link-reference
 * definitions at the start of a line escaped so they define nothing, raw HTML tags escaped
 * (`&lt;script`), and `javascript:`, `vbscript:`, `data:` and `file:` link targets replaced by
 * `#blocked`. Code fences and inline code spans are left as they are. One pass over the lines.
 * With `headings: false` (a combined answer, which is the report's body and has its own `##`
 * headings) headings are kept and only the definitions, HTML and links are made inert.
 */
export function confinedToSection(body: string, options: { headings?: boolean } = {}): string {
  const headings = options.headings ?? true;
  const lines = body.split("\n");
  let fence: string | undefined;
  for (const [index, line] of lines.entries()) {
    const fenceMark = /^\s{0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence !== undefined) {
      if (fenceMark && fenceMark[0] === fence[0] && fenceMark.length >= fence.length) {
        fence = undefined;
      }
      continue;
    }
    if (fenceMark) {
      fence = fenceMark;
      continue;
    }
    lines[index] = confinedLine(line, headings ? lines[index + 1] : undefined, headings);
    // A setext underline (`===` or `---` under a line of text) makes the line above a heading.
    if (
      headings &&
      /^\s{0,3}(=+|-+)\s*$/.test(lines[index + 1] ?? "") &&
      line.trim() &&
      !/^\s*[-*+]\s/.test(line)
    ) {
      lines[index + 1] = "";
    }
  }
  return lines.join("\n");
}

function confinedLine(line: string, next: string | undefined, headings: boolean): string {
  const setext = next !== undefined && /^\s{0,3}(=+|-+)\s*$/.test(next) && line.trim() !== "";
  const atx = headings ? /^\s{0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t]*#*[ \t]*$/.exec(line) : null;
  if (atx || (setext && !/^\s*[-*+]\s/.test(line))) {
    const level = atx ? atx[1]!.length : /^\s{0,3}=/.test(next!) ? 1 : 2;
    const text = inline(atx ? (atx[2] ?? "") : line.trim());
    if (REPORT_HEADINGS.test(text.replace(/[*_`]/g, "").trim())) return `**${text}**`;
    return `${"#".repeat(Math.max(3, level))} ${text}`;
  }
  // `[^1]: ...` and `[1]: https://...` would define the report's footnotes and citation links.
  if (/^\s{0,3}\[[^\]]*\]:/.test(line)) return inline(line.replace(/^(\s*)\[/, "$1\\["));
  return inline(line);
}

/** A line's text outside inline code spans made inert (raw HTML, active links). */
function inline(text: string): string {
  return text
    .split(/(`+[^`]*`+)/)
    .map((part, index) =>
      index % 2 === 1 ? part : part.replace(RAW_HTML, "&lt;").replace(ACTIVE_LINK, "](#blocked)"),
    )
    .join("");
}
