import { Send, type LangGraphRunnableConfig } from "@langchain/langgraph";
import { resolveConfiguration } from "./configuration.js";
import type { ReportStateType, WorkerInputType } from "./state.js";

/**
 * One `Send` to a worker per planned section that has not been written yet and whose dependencies
 * all have been, carrying only the topic, that section and its dependencies' text; straight to the
 * synthesizer when nothing is left to send. A re-run of a thread therefore writes only what is
 * missing, and dependent sections come in later waves.
 */
export function pendingSends(
  state: Pick<ReportStateType, "plan" | "completedSections" | "topic">,
): Send<"worker", WorkerInputType>[] | "synthesizer" {
  const written = new Map(state.completedSections.map((section) => [section.id, section]));
  const pending = state.plan.filter((section) => !written.has(section.id));
  if (pending.length === 0) return "synthesizer";
  // A section whose dependencies are not all written waits for a later wave.
  const ready = pending.filter((section) =>
    (section.dependsOn ?? []).every((id) => written.has(id)),
  );
  if (ready.length === 0) return "synthesizer";
  return ready.map((section) => {
    const dependencies = (section.dependsOn ?? []).map((id) => {
      const { name, content } = written.get(id)!;
      return { id, name, content };
    });
    return new Send("worker", {
      topic: state.topic,
      section,
      ...(dependencies.length ? { dependencies } : {}),
    });
  });
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
  // Waves go through dispatch: with a token budget (checked before each), or with dependencies.
  const inWaves =
    resolveConfiguration(config).maxTotalTokens !== undefined ||
    state.plan.some((section) => section.dependsOn?.length);
  return inWaves ? "dispatch" : nextWave(state, config);
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
