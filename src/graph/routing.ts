import { Send } from "@langchain/langgraph";
import type { ReportStateType, WorkerInputType } from "./state.js";

/**
 * The fan-out: one `Send` to a worker per planned section that has not been written yet, carrying
 * only the topic and that section. A re-run of a thread therefore writes only what is missing; when
 * nothing is, the run goes straight to the synthesizer.
 */
export function assignWorkers(
  state: ReportStateType,
): Send<"worker", WorkerInputType>[] | "synthesizer" {
  const written = new Set(state.completedSections.map((section) => section.id));
  const pending = state.plan.filter((section) => !written.has(section.id));
  if (pending.length === 0) return "synthesizer";
  return pending.map((section) => new Send("worker", { topic: state.topic, section }));
}
