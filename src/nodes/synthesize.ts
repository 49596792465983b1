import type { LangGraphRunnableConfig } from "@langchain/langgraph";
import { inPlanOrder, readState, type CorePlan, type StateShape } from "../schemas/shape.js";

/** What a generic graph's `synthesize` receives: the request, the plan, and what came of it. */
export interface SynthesisInput<Subtask = unknown, Result = unknown> {
  request: string;
  plan: Omit<CorePlan, "subtasks"> & { subtasks: Subtask[] };
  /** The finished subtasks' results, in plan order (never arrival order). */
  results: { id: string; result: Result }[];
  /** The subtasks whose worker failed, with the error's message. */
  failed: { id: string; error: string }[];
}

/** Assembles a generic graph's output from the results in plan order. */
export type Synthesize = (input: SynthesisInput, config: LangGraphRunnableConfig) => unknown;

/**
 * Creates a generic graph's synthesizer node:
 * 1. indexes the results by id (a later entry for an id wins) and walks the plan in order;
 * 2. hands the request, the plan, the results in plan order and the failed subtasks to
 *    `synthesize`, whose value becomes the `output`;
 * 3. without `synthesize`, the output is the list of results in plan order.
 */
export function createSynthesizeNode(options: { shape: StateShape; synthesize?: Synthesize }) {
  const { shape, synthesize } = options;
  return async function synthesizer(
    graphState: Record<string, unknown>,
    config: LangGraphRunnableConfig,
  ): Promise<Record<string, unknown>> {
    const state = readState(shape, graphState);
    const plan = state.plan!;
    const results = inPlanOrder(plan.subtasks, state.results) as SynthesisInput["results"];
    const failed = inPlanOrder(plan.subtasks, state.failed) as SynthesisInput["failed"];
    const output = synthesize
      ? await synthesize({ request: plan.request, plan, results, failed }, config)
      : results.map((entry) => entry.result);
    return { [shape.keys.output]: output };
  };
}
