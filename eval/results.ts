/**
 * The evaluation's results as tables: one per configuration (a row per case), and a side-by-side
 * comparison of every other configuration with the first (the mean of each metric under both and
 * the difference, then the difference per case). The same numbers go to the JSON file.
 */
import { JUDGE_CRITERIA, type JudgeCriterion } from "./judge.js";
import type { CaseResult } from "./harness.js";

/** A column of the tables: how to read it from a result, and how to show it. */
export interface Metric {
  key: string;
  label: string;
  /** The metric's value, or null when the result has none (a failed run, no judge verdict). */
  value: (result: CaseResult) => number | null;
  format: (value: number) => string;
  /** Shown in the per-case comparison too. */
  perCase?: boolean;
}

const passRate = (value: number) => `${Math.round(value * 100)}%`;
const score = (value: number) => value.toFixed(2);
const count = (value: number) => (Number.isInteger(value) ? String(value) : value.toFixed(1));
const flag = (passed: boolean | undefined) => (passed === undefined ? null : passed ? 1 : 0);

const CRITERION_LABELS: Record<JudgeCriterion, string> = {
  factualAccuracy: "factual",
  citationAccuracy: "citations (judge)",
  completeness: "complete",
  sourceQuality: "sources",
  toolEfficiency: "tool use",
};

/** Every metric, in table order. */
export const METRICS: Metric[] = [
  {
    key: "checksPassed",
    label: "checks",
    value: (result) => flag(result.checks?.passed),
    format: passRate,
  },
  {
    key: "sectionsInOrder",
    label: "in order",
    value: (result) => flag(result.checks?.sections.passed),
    format: passRate,
  },
  {
    key: "clean",
    label: "clean",
    value: (result) =>
      result.checks
        ? flag(result.checks.placeholders.length === 0 && result.checks.reasoning.length === 0)
        : null,
    format: passRate,
  },
  {
    key: "citationsValid",
    label: "keys valid",
    value: (result) => flag(result.checks?.citations.passed),
    format: passRate,
  },
  {
    key: "requiredFacts",
    label: "facts",
    value: (result) => {
      const facts = result.checks?.requiredFacts;
      const total = facts ? facts.found.length + facts.missing.length : 0;
      return facts && total > 0 ? facts.found.length / total : null;
    },
    format: passRate,
  },
  ...JUDGE_CRITERIA.map((criterion): Metric => ({
    key: criterion,
    label: CRITERION_LABELS[criterion],
    value: (result) => result.judge?.scores?.[criterion].score ?? null,
    format: score,
    perCase: true,
  })),
  {
    key: "tokens",
    label: "tokens",
    value: (result) => result.metrics?.tokens ?? null,
    format: (value) => Math.round(value).toLocaleString("en-US"),
    perCase: true,
  },
  {
    key: "costUsd",
    label: "cost $",
    value: (result) => result.metrics?.costUsd ?? null,
    format: (value) => value.toFixed(4),
    perCase: true,
  },
  {
    key: "wallSeconds",
    label: "time s",
    value: (result) => result.metrics?.wallSeconds ?? null,
    format: (value) => value.toFixed(1),
  },
  {
    key: "sectionsFailed",
    label: "failed",
    value: (result) => (result.error ? null : (result.metrics?.sectionsFailed ?? null)),
    format: count,
  },
  {
    key: "revisions",
    label: "revisions",
    value: (result) => result.metrics?.revisions ?? null,
    format: count,
    perCase: true,
  },
  {
    key: "sourcesConsulted",
    label: "consulted",
    value: (result) => result.metrics?.sourcesConsulted ?? null,
    format: count,
  },
];

/** The mean of a metric over some results (nulls left out), or null when none has a value. */
export function meanOf(metric: Metric, results: readonly CaseResult[]): number | null {
  const values = results.map(metric.value).filter((value): value is number => value !== null);
  return values.length ? values.reduce((sum, value) => sum + value, 0) / values.length : null;
}

/** One configuration's means. */
export interface ConfigurationSummary {
  configuration: string;
  cases: number;
  runsFailed: number;
  judgeErrors: number;
  /** Tokens of the judge's calls for this configuration's reports (not in `tokens`). */
  judgeTokens: number;
  means: Record<string, number | null>;
}

/** A configuration compared with the baseline (the first one). */
export interface Comparison {
  baseline: string;
  candidate: string;
  /** Per metric: the baseline's mean, the candidate's, and candidate − baseline. */
  metrics: {
    key: string;
    baseline: number | null;
    candidate: number | null;
    difference: number | null;
  }[];
  /** Per case present under both: candidate − baseline for each metric. */
  cases: { caseId: string; differences: Record<string, number | null> }[];
}

/** Summarises each configuration's results. */
export function summarize(
  configurations: readonly string[],
  results: readonly CaseResult[],
): ConfigurationSummary[] {
  return configurations.map((configuration) => {
    const own = results.filter((result) => result.configuration === configuration);
    return {
      configuration,
      cases: own.length,
      runsFailed: own.filter((result) => result.error).length,
      judgeErrors: own.filter((result) => result.judge?.error).length,
      judgeTokens: own.reduce((sum, result) => sum + (result.judge?.usage.total ?? 0), 0),
      means: Object.fromEntries(METRICS.map((metric) => [metric.key, meanOf(metric, own)])),
    };
  });
}

const difference = (candidate: number | null, baseline: number | null) =>
  candidate === null || baseline === null ? null : candidate - baseline;

/** Compares every configuration after the first with the first. */
export function compare(
  configurations: readonly string[],
  results: readonly CaseResult[],
): Comparison[] {
  const [baseline, ...candidates] = configurations;
  if (baseline === undefined) return [];
  const of = (configuration: string) =>
    results.filter((result) => result.configuration === configuration);
  return candidates.map((candidate) => {
    const before = of(baseline);
    const after = of(candidate);
    return {
      baseline,
      candidate,
      metrics: METRICS.map((metric) => {
        const a = meanOf(metric, before);
        const b = meanOf(metric, after);
        return { key: metric.key, baseline: a, candidate: b, difference: difference(b, a) };
      }),
      cases: after.flatMap((result) => {
        const other = before.find((candidateResult) => candidateResult.caseId === result.caseId);
        if (!other) return [];
        return [
          {
            caseId: result.caseId,
            differences: Object.fromEntries(
              METRICS.map((metric) => [
                metric.key,
                difference(metric.value(result), metric.value(other)),
              ]),
            ),
          },
        ];
      }),
    };
  });
}

/** What the Markdown file says about the run as a whole. */
export interface ResultsHeader {
  dataset: string;
  cases: number;
  judgeModel: string;
  /** Where the models came from: a base URL, OpenAI, or the offline placeholder model. */
  models: string;
  startedAt: string;
  offline: boolean;
}

/** The Markdown results file. */
export function renderResults(options: {
  header: ResultsHeader;
  configurations: readonly string[];
  results: readonly CaseResult[];
}): string {
  const { header, configurations, results } = options;
  const summaries = summarize(configurations, results);
  const lines = [
    "# Evaluation results",
    "",
    `Dataset \`${header.dataset}\` (${header.cases} cases), ${configurations.length} configuration${configurations.length === 1 ? "" : "s"}; models: ${header.models}; judge: \`${header.judgeModel}\`; started ${header.startedAt}.`,
    "",
  ];
  if (header.offline) {
    lines.push(
      "> **Offline placeholder model:** no model server was configured (or `--offline` was given), so these reports are placeholders and the scores measure nothing but the harness itself.",
      "",
    );
  }
  lines.push(
    "Columns: **checks** all deterministic checks passed; **in order** every planned section is a `## ` heading in plan order; **clean** no placeholder or reasoning text; **keys valid** every `[n]` has a reference and no citation was dropped; **facts** share of required facts found; **factual** ... **tool use** the judge's scores (0-1); **tokens** and **cost $** of the run (the judge's not included); **revisions** section revisions the reviewer asked for; **consulted** distinct sources cited or consulted.",
    "",
  );
  for (const summary of summaries) {
    const own = results.filter((result) => result.configuration === summary.configuration);
    lines.push(`## ${summary.configuration}`, "");
    const header = ["case", ...METRICS.map((metric) => metric.label)];
    lines.push(row(header), row(header.map((_, index) => (index === 0 ? "---" : "---:"))));
    for (const result of own) {
      lines.push(
        row([result.caseId, ...METRICS.map((metric) => shown(metric, metric.value(result)))]),
      );
    }
    lines.push(
      row([
        "**mean**",
        ...METRICS.map((metric) => `**${shown(metric, summary.means[metric.key] ?? null)}**`),
      ]),
      "",
    );
    lines.push(
      `Judge tokens (not in the run's tokens): ${summary.judgeTokens.toLocaleString("en-US")}.${summary.runsFailed ? ` Runs that failed: ${summary.runsFailed}.` : ""}${summary.judgeErrors ? ` Reports the judge could not score: ${summary.judgeErrors}.` : ""}`,
      "",
    );
    const problems = own.flatMap((result) =>
      problemsOf(result).map((line) => `- ${result.caseId}: ${line}`),
    );
    if (problems.length) lines.push("What failed:", "", ...problems, "");
  }
  for (const comparison of compare(configurations, results)) {
    lines.push(`## ${comparison.candidate} vs ${comparison.baseline}`, "");
    lines.push(
      row(["metric", comparison.baseline, comparison.candidate, "difference"]),
      row(["---", "---:", "---:", "---:"]),
    );
    for (const entry of comparison.metrics) {
      const metric = METRICS.find((candidate) => candidate.key === entry.key)!;
      lines.push(
        row([
          metric.label,
          shown(metric, entry.baseline),
          shown(metric, entry.candidate),
          signed(metric, entry.difference),
        ]),
      );
    }
    lines.push("", `Per case (${comparison.candidate} − ${comparison.baseline}):`, "");
    const perCase = METRICS.filter((metric) => metric.perCase);
    lines.push(
      row(["case", ...perCase.map((metric) => metric.label)]),
      row(["---", ...perCase.map(() => "---:")]),
    );
    for (const entry of comparison.cases) {
      lines.push(
        row([
          entry.caseId,
          ...perCase.map((metric) => signed(metric, entry.differences[metric.key] ?? null)),
        ]),
      );
    }
    lines.push("");
  }
  return `${lines.join("\n").trimEnd()}\n`;
}

/** Why a result's checks, run or judge failed, one line each. */
export function problemsOf(result: CaseResult): string[] {
  if (result.error) return [`run failed: ${result.error}`];
  const problems: string[] = [];
  const checks = result.checks;
  if (checks) {
    if (checks.sections.missing.length)
      problems.push(`sections missing: ${checks.sections.missing.join(", ")}`);
    if (checks.sections.outOfOrder.length)
      problems.push(`sections out of order: ${checks.sections.outOfOrder.join(", ")}`);
    if (checks.placeholders.length)
      problems.push(`placeholder text: ${checks.placeholders.join("; ")}`);
    if (checks.reasoning.length) problems.push(`reasoning text: ${checks.reasoning.join(" ")}`);
    if (checks.citations.dangling.length)
      problems.push(`citations without a reference: ${checks.citations.dangling.join(" ")}`);
    if (checks.citations.warnings.length)
      problems.push(`citation warnings: ${checks.citations.warnings.join("; ")}`);
    if (checks.requiredFacts.missing.length)
      problems.push(`facts missing: ${checks.requiredFacts.missing.join("; ")}`);
  }
  if (result.judge?.error) problems.push(result.judge.error);
  return problems.map((problem) => problem.replace(/\|/g, "\\|").replace(/\s*\n\s*/g, " "));
}

function shown(metric: Metric, value: number | null): string {
  return value === null ? "–" : metric.format(value);
}

function signed(metric: Metric, value: number | null): string {
  if (value === null) return "–";
  const magnitude = metric.format(Math.abs(value));
  if (/^[0.,%]+$/.test(magnitude)) return metric.format(0);
  return `${value < 0 ? "−" : "+"}${magnitude}`;
}

function row(cells: readonly string[]): string {
  return `| ${cells.map((cell) => cell.replace(/\|/g, "\\|")).join(" | ")} |`;
}
