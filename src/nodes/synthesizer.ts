import type { LangGraphRunnableConfig } from "@langchain/langgraph";
import { resolveConfiguration } from "../graph/configuration.js";
import type { ReportStateType, ReportUpdate } from "../graph/state.js";
import { annotateNodeRun } from "../graph/tracing.js";
import { NO_USAGE, addUsage, costOf, type ModelPrice, type UsageLedger } from "../schemas/usage.js";
import { OFFLINE_MODEL_NAME, OFFLINE_NOTICE } from "../models/offline-chat-model.js";
import type { CompletedSection, FailedSection, Source } from "../schemas/section.js";

/**
 * The synthesizer node, which assembles the report:
 * 1. indexes completed sections by id (a later entry for the same id wins);
 * 2. walks the plan in order, never the arrival order or the names, writing a `## <name>` heading
 *    and the section's body, or a visible marker (with the error, when its worker failed) where a
 *    section is missing;
 * 3. puts the topic as the title, and labels a report written by the offline model;
 * 4. numbers the sources the sections cite (`[key]` becomes `[n]`, in reading order, one number per
 *    source across sections) and ends with a References list;
 * 5. sums the token usage of the run (planner and sections), prices it, and ends the report with
 *    a line that says so; the ledger goes to the `usage` key and the run's trace metadata.
 */
export function synthesizer(state: ReportStateType, config: LangGraphRunnableConfig): ReportUpdate {
  const configuration = resolveConfiguration(config);
  const usage = usageLedger(state, configuration.prices);
  annotateNodeRun(config, {
    metadata: {
      total_tokens: usage.total.total,
      input_tokens: usage.total.input,
      output_tokens: usage.total.output,
      estimated_cost_usd: usage.estimatedCostUsd,
    },
  });
  return { report: `${assembleReport(state)}\n---\n\n${usageFooter(usage)}\n`, usage };
}

/** The run's token usage: the planner's and each written section's, summed and priced. */
export function usageLedger(
  state: Pick<ReportStateType, "plannerUsage" | "completedSections">,
  prices: Record<string, ModelPrice>,
): UsageLedger {
  const calls = [
    ...(state.plannerUsage.total > 0 ? [state.plannerUsage] : []),
    ...state.completedSections.map((section) => ({
      model: section.model,
      ...(section.usage ?? NO_USAGE),
    })),
  ];
  let cost: number | null = 0;
  const unpriced = new Set<string>();
  for (const call of calls) {
    const callCost = costOf(call, call.model, prices);
    if (callCost === undefined) unpriced.add(call.model);
    else if (cost !== null) cost += callCost;
  }
  if (unpriced.size > 0) cost = null;
  const { model: _model, ...planner } = state.plannerUsage;
  return {
    planner,
    sections: Object.fromEntries(
      state.completedSections.map((section) => [section.id, section.usage ?? NO_USAGE]),
    ),
    total: addUsage(...calls),
    estimatedCostUsd: cost,
    unpricedModels: [...unpriced],
  };
}

/** One line for the end of the report: tokens used and the estimated cost. */
export function usageFooter(usage: UsageLedger): string {
  const count = (value: number) => value.toLocaleString("en-US");
  const cost =
    usage.estimatedCostUsd === null
      ? `estimated cost unknown (no price for ${usage.unpricedModels.join(", ")})`
      : `estimated cost $${usage.estimatedCostUsd.toFixed(4)}`;
  return `_Tokens: ${count(usage.total.input)} in, ${count(usage.total.output)} out, ${count(usage.total.total)} in all; ${cost}._`;
}

/** Assembles the Markdown report from the plan and the completed sections. */
export function assembleReport(state: {
  topic: string;
  plan: { id: string; name: string }[];
  completedSections: CompletedSection[];
  failedSections?: FailedSection[];
  budgetExhausted?: boolean;
}): string {
  const byId = new Map(state.completedSections.map((section) => [section.id, section]));
  const failedById = new Map((state.failedSections ?? []).map((section) => [section.id, section]));
  const title = state.topic.trim().split("\n")[0] ?? state.topic;
  const parts = [`# ${title}`];
  if (state.completedSections.some((section) => section.model === OFFLINE_MODEL_NAME)) {
    parts.push(`> **Note:** ${OFFLINE_NOTICE}`);
  }
  // Citations: each source gets one number, in the order the report first cites it.
  const references = new Map<string, { number: number; source: Source }>();
  for (const section of state.plan) {
    const completed = byId.get(section.id);
    parts.push(`## ${section.name}`);
    const failed = failedById.get(section.id);
    const content =
      completed === undefined
        ? undefined
        : numberCitations(completed.content, completed.sources ?? [], references);
    parts.push(
      content ??
        (failed
          ? `_This section is missing: writing it failed (${failed.error})._`
          : state.budgetExhausted
            ? `_This section was not written: the run's token budget (maxTotalTokens) was spent._`
            : `_This section is missing: it was not written._`),
    );
  }
  if (references.size > 0) {
    parts.push("## References");
    parts.push(
      [...references.values()]
        .map(({ number, source }) => `${number}. ${source.title}, ${source.location}`)
        .join("\n"),
    );
  }
  return `${parts.join("\n\n")}\n`;
}

/** Replaces each `[key]` of the section's sources with `[n]`, numbering sources on first use. */
function numberCitations(
  content: string,
  sources: Source[],
  references: Map<string, { number: number; source: Source }>,
): string {
  let result = content;
  // Sources in the order the section first cites them, so numbers follow reading order.
  const cited = sources
    .map((source) => ({ source, at: content.indexOf(`[${source.key}]`) }))
    .filter(({ at }) => at >= 0)
    .sort((a, b) => a.at - b.at);
  for (const { source } of cited) {
    let reference = references.get(source.key);
    if (!reference) {
      reference = { number: references.size + 1, source };
      references.set(source.key, reference);
    }
    result = result.split(`[${source.key}]`).join(`[${reference.number}]`);
  }
  return result;
}
