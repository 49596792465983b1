import { Send, type LangGraphRunnableConfig } from "@langchain/langgraph";
import { resolveConfiguration } from "./configuration.js";
import type { ReportStateType, WorkerInputType } from "./state.js";

/**
 * One `Send` to a worker per planned section that has not been written yet, carrying only the
 * topic and that section; straight to the synthesizer when nothing is missing. A re-run of a
 * thread therefore writes only what is missing.
 */
export function pendingSends(
  state: Pick<ReportStateType, "plan" | "completedSections" | "topic">,
): Send<"worker", WorkerInputType>[] | "synthesizer" {
  const written = new Set(state.completedSections.map((section) => section.id));
  const pending = state.plan.filter((section) => !written.has(section.id));
  if (pending.length === 0) return "synthesizer";
  return pending.map((section) => new Send("worker", { topic: state.topic, section }));
}

/** After planning: to the reviewer when the plan awaits approval, else the fan-out. */
export function routeAfterPlanning(
  state: ReportStateType,
  config?: LangGraphRunnableConfig,
): "review_plan" | "dispatch" | Send<"worker", WorkerInputType>[] | "synthesizer" {
  if (!state.planApproved) return "review_plan";
  return fanOut(state, config);
}

/** Where an approved plan goes: with a token budget, to `dispatch`, which checks it before every wave. */
export function fanOut(
  state: Pick<ReportStateType, "plan" | "completedSections" | "failedSections" | "topic">,
  config?: LangGraphRunnableConfig,
): "dispatch" | Send<"worker", WorkerInputType>[] | "synthesizer" {
  return resolveConfiguration(config).maxTotalTokens === undefined
    ? nextWave(state, config)
    : "dispatch";
}

/**
 * The next sections to send. Without a token budget, all that are pending, at once. With one
 * (`maxTotalTokens`), a wave of at most `maxConcurrency` sections, so the budget is checked
 * between waves (in `dispatch`, on the stored state) and no new section starts once it is spent.
 */
export function nextWave(
  state: Pick<ReportStateType, "plan" | "completedSections" | "failedSections" | "topic">,
  config?: LangGraphRunnableConfig,
): Send<"worker", WorkerInputType>[] | "synthesizer" {
  const configuration = resolveConfiguration(config);
  // Sections that failed in this run are not retried within it (a re-run of the thread does that).
  const failed = new Set(state.failedSections.map((section) => section.id));
  const sends = pendingSends({
    ...state,
    plan: state.plan.filter((section) => !failed.has(section.id)),
  });
  if (sends === "synthesizer" || configuration.maxTotalTokens === undefined) return sends;
  return sends.slice(0, configuration.maxConcurrency);
}
