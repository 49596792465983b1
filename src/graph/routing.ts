import { Send } from "@langchain/langgraph";
import type { ReportStateType, WorkerInputType } from "./state.js";

/** The fan-out: one `Send` to a worker per planned section, carrying only the topic and that section. */
export function assignWorkers(state: ReportStateType): Send<"worker", WorkerInputType>[] {
  return state.plan.map((section) => new Send("worker", { topic: state.topic, section }));
}
