/**
 * The deterministic checks of a report: what can be decided without a model. Each returns what it
 * found (the missing sections, the placeholder text, the dangling citations, the missing facts),
 * so a failed check says why.
 */
import type { RunView } from "./run-view.js";

/** Text the synthesizer writes where a section is missing, and other stand-ins for content. */
const PLACEHOLDERS: RegExp[] = [
  /_This section is missing[^\n]*/i,
  /_This section was not written[^\n]*/i,
  /Written by the offline placeholder model/i,
  /\blorem ipsum\b/i,
];

/** Reasoning a model should have kept to itself. */
const REASONING = /<\/?(think|thinking|reasoning|reflection)>/gi;

/** A citation key left as written (`[notes.md:3-9]`): the synthesizer numbers every real source. */
const RAW_KEY = /\[([^\]\s[]+:\d+(?:-\d+)?)\]/g;

/** What the deterministic checks found in one report. */
export interface Checks {
  sections: {
    /** Every planned section has its `## <name>` heading, in plan order. */
    passed: boolean;
    planned: number;
    missing: string[];
    outOfOrder: string[];
  };
  /** Placeholder text found (missing-section markers and the like); none passes. */
  placeholders: string[];
  /** Reasoning tags found (`<think>`...); none passes. */
  reasoning: string[];
  citations: {
    /** Every `[n]` has a References entry, no raw key is left, and no section warns of a dropped citation. */
    passed: boolean;
    /** Distinct reference numbers cited in the text. */
    cited: number;
    /** Entries of the References list. */
    references: number;
    /** Citations with no References entry, and raw keys left in the text. */
    dangling: string[];
    /** Citations the graph removed because no tool returned them (from the sections' records). */
    warnings: string[];
    /** Distinct sources the workers cited or consulted. */
    consulted: number;
  };
  requiredFacts: { found: string[]; missing: string[] };
  /** All of the above passed. */
  passed: boolean;
}

/** Runs every deterministic check on a run's output. */
export function checkReport(run: RunView, requiredFacts: readonly string[] = []): Checks {
  const sections = checkSections(
    run.report,
    (run.plan?.sections ?? []).map((section) => section.name),
  );
  const placeholders = PLACEHOLDERS.flatMap((pattern) => pattern.exec(run.report)?.[0] ?? []);
  const reasoning = [...new Set([...run.report.matchAll(REASONING)].map((match) => match[0]))];
  const citations = checkCitations(run);
  const facts = checkFacts(run.report, requiredFacts);
  return {
    sections,
    placeholders,
    reasoning,
    citations,
    requiredFacts: facts,
    passed:
      sections.passed &&
      placeholders.length === 0 &&
      reasoning.length === 0 &&
      citations.passed &&
      facts.missing.length === 0,
  };
}

/** Finds each planned name's `## ` heading after the previous one's. */
export function checkSections(report: string, planned: readonly string[]): Checks["sections"] {
  const headings = report
    .split("\n")
    .flatMap((line) => /^##\s+(.+?)\s*$/.exec(line)?.[1] ?? [])
    .map(normalizeSpace);
  const missing: string[] = [];
  const outOfOrder: string[] = [];
  let after = -1;
  for (const name of planned) {
    const wanted = normalizeSpace(name);
    const next = headings.findIndex((heading, index) => index > after && heading === wanted);
    if (next >= 0) after = next;
    else if (headings.includes(wanted)) outOfOrder.push(name);
    else missing.push(name);
  }
  return {
    passed: planned.length > 0 && missing.length === 0 && outOfOrder.length === 0,
    planned: planned.length,
    missing,
    outOfOrder,
  };
}

function checkCitations(run: RunView): Checks["citations"] {
  const at = run.report.search(/^## References\s*$/m);
  const body = at >= 0 ? run.report.slice(0, at) : run.report;
  const list = at >= 0 ? run.report.slice(at) : "";
  const references = new Set([...list.matchAll(/^(\d+)\.\s/gm)].map((match) => match[1]!));
  const cited = new Set([...body.matchAll(/\[(\d+)\]/g)].map((match) => match[1]!));
  const dangling = [
    ...[...cited].filter((number) => !references.has(number)).map((number) => `[${number}]`),
    ...[...body.matchAll(RAW_KEY)].map((match) => match[0]),
  ];
  const warnings = run.completedSections.flatMap((section) =>
    (section.citations?.fabricated ?? []).map(
      (citation) => `${section.name}: cited ${citation}, which no tool returned (removed)`,
    ),
  );
  const consulted = new Set(
    run.completedSections.flatMap((section) =>
      [...(section.sources ?? []), ...(section.consulted ?? [])].map((source) => source.key),
    ),
  );
  return {
    passed: dangling.length === 0 && warnings.length === 0,
    cited: cited.size,
    references: references.size,
    dangling,
    warnings,
    consulted: consulted.size,
  };
}

/** A required fact is found when its normalised text is in the normalised report. */
export function checkFacts(report: string, facts: readonly string[]): Checks["requiredFacts"] {
  const text = ` ${normalizeText(report)} `;
  const found: string[] = [];
  const missing: string[] = [];
  for (const fact of facts) {
    (text.includes(` ${normalizeText(fact)} `) ? found : missing).push(fact);
  }
  return { found, missing };
}

/**
 * Lower case, accents and punctuation removed, digit groups joined (`1,000` is `1000`), one space
 * between words: `Ninety-nine  Percent` and `ninety nine percent` match.
 */
export function normalizeText(text: string): string {
  return text
    .normalize("NFKD")
    .replace(/\p{M}/gu, "")
    .toLowerCase()
    .replace(/(\d)[,\u202f\u00a0](?=\d{3}\b)/g, "$1")
    .replace(/[^\p{L}\p{N}]+/gu, " ")
    .trim();
}

function normalizeSpace(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}
