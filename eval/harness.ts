/**
 * Runs the cases of a dataset through the report graph under each configuration and scores each
 * report: the deterministic checks, the run's own numbers (tokens, cost, time, failures, review
 * revisions) and the judge's rubric. Running and scoring are two steps so that LangSmith's
 * `evaluate()` can run the first as its target and the second as its evaluator.
 */
import type { StructuredToolInterface } from "@langchain/core/tools";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { secretsOf, type Environment } from "../src/env.js";
import { redact, shortMessage } from "../src/errors.js";
import { buildGraph } from "../src/graph/graph.js";
import { createChatModelProvider, modelNameFor } from "../src/models/chat-models.js";
import { resolveConfiguration, type Configuration } from "../src/schemas/configuration.js";
import type { Usage } from "../src/schemas/usage.js";
import { createSourcesTool } from "../src/tools/sources.js";
import { checkReport, type Checks } from "./checks.js";
import type { Dataset, EvalCase, EvalConfiguration } from "./dataset.js";
import { judgeReport, readSourceTexts, type JudgeScores } from "./judge.js";
import { readRun, type RunView } from "./run-view.js";

/** The run's own numbers, from its output and the clock. */
export interface RunMetrics {
  /** Tokens of every model call of the run (the judge's not included); null when none reported. */
  tokens: number | null;
  /** The run's estimated cost in US dollars; null when a model has no price or usage went unreported. */
  costUsd: number | null;
  /** Tokens of the section reviewer's calls, when the run reports them. */
  reviewerTokens: number | null;
  wallSeconds: number;
  sectionsPlanned: number;
  sectionsFailed: number;
  /** Sections that carry a review record. */
  sectionsReviewed: number;
  /** Revisions the reviewer asked for, summed over sections (0 when none was reviewed). */
  revisions: number;
  /** Distinct sources cited in the report. */
  sourcesCited: number;
  /** Distinct sources the workers cited or consulted. */
  sourcesConsulted: number;
}

/** What the results keep of one written section. */
export interface SectionSummary {
  id: string;
  name: string;
  cited: number;
  consulted: number;
  steps?: number;
  warnings: string[];
  review?: { passed: boolean; revisions: number; feedback?: string };
}

/** One case run under one configuration, before it is judged. */
export interface CaseRun {
  caseId: string;
  configuration: string;
  /** Why the run failed (it threw); the other fields are then empty. */
  error?: string;
  run?: RunView;
  wallSeconds: number;
}

/** One case under one configuration, scored. */
export interface CaseResult {
  caseId: string;
  topic: string;
  configuration: string;
  /** Why the run failed; nothing else is scored then. */
  error?: string;
  report?: string;
  checks?: Checks;
  metrics?: RunMetrics;
  /** Each written section: its sources, its worker's steps and its review, in plan order. */
  sections?: SectionSummary[];
  judge?: {
    model: string;
    /** The judge's tokens: reported apart, never in the run's tokens or cost. */
    usage: Usage;
    scores?: JudgeScores;
    /** Why there are no scores (an unusable or failed answer). */
    error?: string;
  };
}

/** Options of `createHarness`. */
export interface HarnessOptions {
  dataset: Dataset;
  configurations: EvalConfiguration[];
  environment: Environment;
  /** Use the offline model for every role and the judge. */
  offline?: boolean;
  /** Configuration fields every configuration starts from (`--model`); a file's own fields win. */
  defaults?: Record<string, unknown>;
  /** The judge's model name; defaults to the first configuration's writer model. */
  judgeModel?: string;
  /** Told once when the offline model is used. */
  onNotice?: (notice: string) => void;
}

/** A harness, ready to run: the case's tools are built and the judge's model chosen. */
export interface Harness {
  /** The judge's model name. */
  judgeModel: string;
  /** The configuration a run of `configuration` resolves to (defaults filled in). */
  configurationOf(configuration: EvalConfiguration): Configuration;
  run(evalCase: EvalCase, configuration: EvalConfiguration): Promise<CaseRun>;
  score(evalCase: EvalCase, caseRun: CaseRun): Promise<CaseResult>;
}

/**
 * Prepares the evaluation before any model call:
 * 1. resolves each configuration over the defaults (a bad field is an `InvalidInputError`);
 * 2. builds each case's sources tool (an unreadable or empty folder is an `InvalidInputError`);
 * 3. chooses the judge's model: its own name, through the same model factory as the graph's roles
 *    (it takes the writer's client settings from the first configuration, at temperature 0).
 */
export async function createHarness(options: HarnessOptions): Promise<Harness> {
  const { environment, offline } = options;
  const secrets = secretsOf(environment);
  let noticeGiven = false;
  const onOfflineModel = (notice: string) => {
    if (noticeGiven) return;
    noticeGiven = true;
    options.onNotice?.(notice);
  };
  const fieldsOf = (configuration: EvalConfiguration) => ({
    ...options.defaults,
    ...configuration.fields,
  });
  const resolved = new Map(
    options.configurations.map((configuration) => [
      configuration,
      resolveConfiguration({ configurable: fieldsOf(configuration) }),
    ]),
  );
  const tools = new Map<string, StructuredToolInterface[]>();
  const sourceTexts = new Map<string, string>();
  for (const evalCase of options.dataset.cases) {
    if (!evalCase.sources) continue;
    tools.set(evalCase.id, [await createSourcesTool({ directory: evalCase.sources })]);
    sourceTexts.set(evalCase.id, await readSourceTexts(evalCase.sources));
  }

  const first = resolved.get(options.configurations[0]!)!;
  const judgeModel = options.judgeModel ?? modelNameFor("writer", first);
  const judgeConfiguration = resolveConfiguration({
    configurable: {
      ...fieldsOf(options.configurations[0]!),
      writerModel: judgeModel,
      temperature: 0,
    },
  });
  let judge: BaseChatModel | undefined;
  const judgeClient = () =>
    (judge ??= createChatModelProvider({ environment, offline, onOfflineModel, secrets })({
      role: "writer",
      configuration: judgeConfiguration,
    }));

  return {
    judgeModel,
    configurationOf: (configuration) => resolved.get(configuration)!,
    async run(evalCase, configuration) {
      const graph = buildGraph({
        environment,
        offline,
        secrets,
        onOfflineModel,
        tools: tools.get(evalCase.id),
      });
      const started = performance.now();
      const base = { caseId: evalCase.id, configuration: configuration.name };
      try {
        const output = await graph.invoke(
          { topic: evalCase.topic, sections: evalCase.plan },
          { configurable: fieldsOf(configuration) },
        );
        return { ...base, run: readRun(output), wallSeconds: seconds(started) };
      } catch (error) {
        return {
          ...base,
          error: shortMessage(error, { maxLength: 500, redact: (text) => redact(text, secrets) }),
          wallSeconds: seconds(started),
        };
      }
    },
    async score(evalCase, caseRun) {
      const base = {
        caseId: evalCase.id,
        topic: evalCase.topic,
        configuration: caseRun.configuration,
      };
      if (!caseRun.run) return { ...base, error: caseRun.error ?? "The run returned nothing." };
      const run = caseRun.run;
      const checks = checkReport(run, evalCase.requiredFacts);
      let verdict: CaseResult["judge"];
      try {
        verdict = await judgeReport({
          model: judgeClient(),
          evalCase,
          run,
          sourceTexts: sourceTexts.get(evalCase.id),
          strategy: judgeConfiguration.structuredOutput,
        });
      } catch (error) {
        verdict = {
          model: judgeModel,
          usage: { input: 0, output: 0, total: 0 },
          error: `The judge failed: ${shortMessage(error, { maxLength: 500, redact: (text) => redact(text, secrets) })}`,
        };
      }
      return {
        ...base,
        report: run.report,
        checks,
        metrics: metricsOf(run, checks, caseRun.wallSeconds),
        sections: sectionsOf(run),
        judge: verdict,
      };
    },
  };
}

function metricsOf(run: RunView, checks: Checks, wallSeconds: number): RunMetrics {
  const reviewed = run.completedSections.filter((section) => section.review !== undefined);
  const unreported = (run.usage?.unreportedModels?.length ?? 0) > 0 && !run.usage?.total.total;
  return {
    tokens: run.usage && !unreported ? run.usage.total.total : null,
    costUsd: run.usage?.estimatedCostUsd ?? null,
    reviewerTokens: run.usage?.reviewer?.total ?? null,
    wallSeconds,
    sectionsPlanned: run.plan?.sections.length ?? 0,
    sectionsFailed: run.failedSections.length,
    sectionsReviewed: reviewed.length,
    revisions: reviewed.reduce((sum, section) => sum + (section.review?.revisions ?? 0), 0),
    sourcesCited: checks.citations.cited,
    sourcesConsulted: checks.citations.consulted,
  };
}

function sectionsOf(run: RunView): SectionSummary[] {
  const order = new Map((run.plan?.sections ?? []).map((section, index) => [section.id, index]));
  return [...run.completedSections]
    .sort((a, b) => (order.get(a.id) ?? Infinity) - (order.get(b.id) ?? Infinity))
    .map((section) => ({
      id: section.id,
      name: section.name,
      cited: section.sources?.length ?? 0,
      consulted: section.consulted?.length ?? 0,
      ...(section.steps === undefined ? {} : { steps: section.steps }),
      warnings: section.warnings ?? [],
      ...(section.review ? { review: section.review } : {}),
    }));
}

function seconds(started: number): number {
  return Math.round(performance.now() - started) / 1000;
}

/** Runs `work` on every item with at most `limit` at once; results keep the items' order. */
export async function inPool<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  return results;
}
