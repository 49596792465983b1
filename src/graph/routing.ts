import { Send } from "@langchain/langgraph";
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
): "review_plan" | Send<"worker", WorkerInputType>[] | "synthesizer" {
  return state.planApproved ? pendingSends(state) : "review_plan";
}
