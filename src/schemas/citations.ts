import { z } from "zod";
import type { CitationCheck } from "./configuration.js";
import type { SectionCitations, Source } from "./section.js";

/** A source a worker's tools returned, with the passage text its writer was shown. */
export interface RetrievedSource {
  source: Source;
  /** The passage (or tool output) text, kept for the citation verifier; never stored. */
  text: string;
}

/** What checking a section's citations found. */
export interface CheckedCitations {
  /** The text with citations in the `[key]` form, fabricated ones removed (mode `keys`, `llm`). */
  content: string;
  /** Retrieved sources the text cites, in the order it first cites them. */
  cited: Source[];
  /** Retrieved sources the text does not cite: what the writer read but did not name. */
  consulted: Source[];
  /** Citations that name nothing a tool returned to this writer, as written. */
  fabricated: string[];
}

/**
 * A citation that reads like a key (`docs/a.md:1-5`, `wikipedia:Tide`): a name that is not only
 * digits (so a time or a ratio, `[10:30]`, is prose), a colon, more.
 */
const KEY_LIKE = /^(?=[^:]*[^\d:])[^\s:[\]()]+:\S[^[\]\n]*$/;
/** A citation that reads like a file path or URL (`docs/a.md`, `https://x.org/y`). */
const PATH_LIKE =
  /^(?:[\w.-]+\/)+[\w.-]+$|^[\w-]+\.(?:md|txt|markdown|html?|pdf|json)$|^https?:\/\/\S+$/;
/** A list of reference numbers: `1`, `1, 3`, `2-4`. */
const NUMBERS = /^\d+(?:\s*[-–]\s*\d+)?(?:\s*,\s*\d+(?:\s*[-–]\s*\d+)?)*$/;

/**
 * Brings a section's citations to the one form the synthesizer numbers, `[key]`, and finds the
 * ones that name nothing the writer was given:
 * 1. `(source: X)` and `(sources: X; Y)` become `[key]` when X is a key, or the title, location or
 *    file of exactly one retrieved source;
 * 2. a retrieved key written bare (not in brackets) is put in brackets;
 * 3. `[n]`, `[n, m]` and `[n-m]` mean the n-th source the writer was given, in retrieval order;
 * 4. `[X]` (or `[X; Y]`) where X is a retrieved key, title or file stays or becomes `[key]`;
 * 5. anything else in citation form (reads like a key or a path, a number past the sources, a
 *    `(source: ...)` that matches none) is fabricated: removed, and returned to be warned about.
 * Code spans and fenced blocks are left alone. With mode `off` the text is kept as written and
 * only the cited and consulted sources are worked out.
 */
export function checkCitations(
  text: string,
  retrieved: readonly RetrievedSource[],
  mode: CitationCheck,
): CheckedCitations {
  const sources = uniqueSources(retrieved.map((item) => item.source));
  const fabricated: string[] = [];
  let content = text;
  // With nothing retrieved, every citation in key form is made up.
  if (mode !== "off") content = outsideCode(text, (prose) => normalize(prose, sources, fabricated));
  const cited = sources
    .map((source) => ({ source, at: content.indexOf(`[${source.key}]`) }))
    .filter(({ at }) => at >= 0)
    .sort((a, b) => a.at - b.at)
    .map(({ source }) => source);
  const citedKeys = new Set(cited.map((source) => source.key));
  return {
    content,
    cited,
    consulted: sources.filter((source) => !citedKeys.has(source.key)),
    fabricated: [...new Set(fabricated)],
  };
}

function uniqueSources(sources: Source[]): Source[] {
  const byKey = new Map<string, Source>();
  for (const source of sources) if (!byKey.has(source.key)) byKey.set(source.key, source);
  return [...byKey.values()];
}

/** Applies `change` to the text outside fenced code blocks and inline code spans. */
function outsideCode(text: string, change: (prose: string) => string): string {
  const code = /```[\s\S]*?(?:```|$)|~~~[\s\S]*?(?:~~~|$)|`[^`\n]+`/g;
  let result = "";
  let last = 0;
  for (const match of text.matchAll(code)) {
    result += change(text.slice(last, match.index)) + match[0];
    last = match.index + match[0].length;
  }
  return result + change(text.slice(last));
}

/** The key a written reference names: a key, or the title, location or file of one source. */
function resolve(reference: string, sources: readonly Source[]): string | undefined {
  const wanted = reference.trim();
  if (wanted === "") return undefined;
  const exact = sources.find((source) => source.key === wanted);
  if (exact) return exact.key;
  const matches = sources.filter(
    (source) =>
      source.title === wanted ||
      (source.location !== "" && source.location === wanted) ||
      source.key.startsWith(`${wanted}:`),
  );
  return matches.length === 1 ? matches[0]!.key : undefined;
}

/** True when several sources match: a reference that cannot be mapped but is not made up. */
function ambiguous(reference: string, sources: readonly Source[]): boolean {
  const wanted = reference.trim();
  return (
    sources.filter(
      (source) =>
        source.title === wanted ||
        (source.location !== "" && source.location === wanted) ||
        source.key.startsWith(`${wanted}:`),
    ).length > 1
  );
}

function looksLikeCitation(reference: string): boolean {
  return KEY_LIKE.test(reference) || PATH_LIKE.test(reference);
}

/** The numbers of `1, 3` or `2-4` (a range counts each number in it, bounded). */
function numbersOf(list: string): number[] {
  return list.split(",").flatMap((part) => {
    const [from, to] = part.split(/[-–]/).map((value) => Number(value.trim()));
    if (to === undefined || !Number.isFinite(to) || to < from! || to - from! > 50) return [from!];
    return Array.from({ length: to - from! + 1 }, (_, index) => from! + index);
  });
}

function normalize(prose: string, sources: readonly Source[], fabricated: string[]): string {
  const keyed = (keys: string[]) => keys.map((key) => `[${key}]`).join("");
  // 1. (source: X) and (sources: X; Y)
  let text = prose.replace(
    /\s?\((?:sources?|cited|see):\s*([^()\n]+)\)/gi,
    (whole, list: string) => {
      const parts = list.split(/;\s*|,\s+/).map((part) => part.trim().replace(/^\[|\]$/g, ""));
      const keys = parts.map((part) => resolve(part, sources));
      if (keys.every((key) => key !== undefined)) return ` ${keyed(keys)}`;
      if (parts.some((part) => ambiguous(part, sources))) return whole;
      const known = keys.filter((key): key is string => key !== undefined);
      fabricated.push(...parts.filter((_, index) => keys[index] === undefined));
      return known.length ? ` ${keyed(known)}` : "";
    },
  );
  // 2. Bare keys: a retrieved key written without brackets. Longer keys first, so that a key that
  // starts another (a.md:1-5, a.md:1-50) is never matched inside it.
  const byLength = [...sources].sort((a, b) => b.key.length - a.key.length);
  for (const source of byLength) {
    if (!source.key.includes(":")) continue;
    const escaped = source.key.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    text = text.replace(
      new RegExp(`(?<![\\[\\w/.:-])${escaped}(?![\\w/.:\\]-])`, "g"),
      `[${source.key}]`,
    );
  }
  // 3-5. Bracketed citations; not links ([text](url), [text][ref], [ref]: url), footnotes [^1],
  // task boxes [ ] [x], or images.
  return text.replace(
    /(\s?)(?<![!\]\\])\[([^[\]\n]+)\](?![([:])/g,
    (whole, space: string, inside: string) => {
      const reference = inside.trim();
      if (reference.startsWith("^") || /^[ xX]$/.test(inside)) return whole;
      if (sources.some((source) => source.key === reference)) return whole;
      if (NUMBERS.test(reference)) {
        // Without sources a number in brackets is as likely prose (a list, a range) as a citation.
        if (sources.length === 0) return whole;
        const numbers = numbersOf(reference);
        const keys = numbers.map((number) => sources[number - 1]?.key);
        const known = keys.filter((key): key is string => key !== undefined);
        fabricated.push(
          ...numbers.filter((_, index) => keys[index] === undefined).map((n) => `[${n}]`),
        );
        return known.length ? `${space}${keyed(known)}` : "";
      }
      const parts = reference.split(/;\s*/).map((part) => part.trim());
      const keys = parts.map((part) => resolve(part, sources));
      if (keys.every((key) => key !== undefined)) return `${space}${keyed(keys)}`;
      if (!parts.some(looksLikeCitation)) return whole;
      if (parts.some((part) => ambiguous(part, sources))) return whole;
      const known = keys.filter((key): key is string => key !== undefined);
      fabricated.push(
        ...parts.filter((part, index) => keys[index] === undefined && looksLikeCitation(part)),
      );
      return known.length ? `${space}${keyed(known)}` : "";
    },
  );
}

/** One cited sentence and a source it cites: what the verifier checks. */
export interface CitedClaim {
  sentence: string;
  key: string;
}

/**
 * The sentences of a section that cite sources, one claim per sentence and cited key, in reading
 * order. A citation that stands alone after a sentence (`... tides. [a.md:1-3]`) belongs to it.
 */
export function citedClaims(content: string, keys: ReadonlySet<string>): CitedClaim[] {
  const claims: CitedClaim[] = [];
  for (const paragraph of content.split(/\n\s*\n/)) {
    // Sentences are kept exactly as written, so the report can find them again to mark them.
    // A citation after the full stop ("... a day. [a.md:1-3]") stays with its sentence.
    const sentences = paragraph.trim().split(/(?<=[.!?](?:\s?\[[^\]]+\])*)\s+(?=[A-Z0-9"“(*_])/);
    for (const sentence of sentences) {
      const cited = [...sentence.matchAll(/\[([^[\]]+)\]/g)]
        .map((match) => match[1]!)
        .filter((key) => keys.has(key));
      for (const key of new Set(cited)) claims.push({ sentence: sentence.trim(), key });
    }
  }
  return claims;
}

/** The verifier's answer: a verdict for each numbered claim. */
export const VerificationSchema = z.object({
  verdicts: z
    .array(
      z.object({
        claim: z.number().int().describe("The claim's number, as given."),
        supported: z.boolean().describe("True when the passage supports the sentence."),
        reason: z.string().default("").describe("One line: why, or what the passage does not say."),
      }),
    )
    .describe("One verdict per claim."),
});

export type Verification = z.infer<typeof VerificationSchema>;

/** Most claims of one section the verifier checks in its one call; the rest stay unchecked. */
export const MAX_CHECKED_CLAIMS = 40;

/** Most characters of a cited passage the verifier reads. */
export const MAX_VERIFIED_PASSAGE_CHARACTERS = 1500;

/** A run's citations in all: what was cited, checked and supported, and what was removed. */
export const CitationSummarySchema = z.object({
  cited: z.number().int().describe("Cited sentences, one per sentence and source it cites."),
  checked: z
    .number()
    .int()
    .optional()
    .describe("Of those, the ones the verifier gave a verdict for (verifyCitations: llm)."),
  supported: z
    .number()
    .int()
    .optional()
    .describe("Of the checked ones, those the cited passage supports."),
  accuracy: z
    .number()
    .optional()
    .describe("supported / checked, from 0 to 1 (verifyCitations: llm, with something checked)."),
  fabricated: z
    .number()
    .int()
    .describe("Citations removed because they named nothing a tool returned to the writer."),
  consulted: z.number().int().describe("Sources retrieved by the writers but not cited."),
});

export type CitationSummary = z.infer<typeof CitationSummarySchema>;

/** Sums the citation checks of the written sections. */
export function citationSummary(
  sections: readonly { citations?: SectionCitations; consulted?: readonly unknown[] }[],
): CitationSummary {
  let cited = 0;
  let checked: number | undefined;
  let supported: number | undefined;
  let fabricated = 0;
  let consulted = 0;
  for (const section of sections) {
    cited += section.citations?.cited ?? 0;
    fabricated += section.citations?.fabricated?.length ?? 0;
    consulted += section.consulted?.length ?? 0;
    if (section.citations?.checked !== undefined) {
      checked = (checked ?? 0) + section.citations.checked;
      supported = (supported ?? 0) + (section.citations.supported ?? 0);
    }
  }
  return {
    cited,
    ...(checked !== undefined ? { checked, supported } : {}),
    ...(checked ? { accuracy: (supported ?? 0) / checked } : {}),
    fabricated,
    consulted,
  };
}
