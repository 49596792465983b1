import type { LangGraphRunnableConfig } from "@langchain/langgraph";
import { runConfiguration, type Configuration } from "../schemas/configuration.js";
import {
  inPlanOrder,
  readState,
  writeUpdate,
  type CorePlan,
  type CoreSubtask,
  type Replanner,
  type StateShape,
} from "../schemas/shape.js";

/**
 * Creates the replanner node, a later planning round (reached from dispatch when a round's
 * subtasks are done and `maxPlanningRounds` allows another):
 * 1. with no room left under `maxSections`, marks the plan complete without asking;
 * 2. asks `replan` (for the report, the planner model shown what was written) for subtasks to add;
 * 3. none completes the plan; an unusable answer also keeps the plan as it was, with a warning:
 *    the finished work is never put at risk by a later round;
 * 4. gives the additions the next ids (and what `assign` adds), checks ids and dependencies over
 *    the whole plan, and hands the grown plan back to dispatch to be announced and done.
 */
export function createReplannerNode(options: {
  shape: StateShape;
  replan: Replanner;
  assign?: (subtasks: CoreSubtask[], configuration: Configuration) => CoreSubtask[];
}) {
  const { shape, assign = (subtasks) => subtasks } = options;
  return async function replanner(
    graphState: Record<string, unknown>,
    config: LangGraphRunnableConfig,
  ): Promise<Record<string, unknown>> {
    const state = readState(shape, graphState);
    const configuration = runConfiguration(config);
    const plan = state.plan!;
    const round = plan.round + 1;
    const room = configuration.maxSections - plan.subtasks.length;
    const complete: CorePlan = { ...plan, status: "complete" };
    const write = (update: Parameters<typeof writeUpdate>[1]) => writeUpdate(shape, update);
    if (room <= 0) return write({ plan: complete });

    const { proposed, calls } = await options.replan(
      {
        request: plan.request,
        configuration,
        round,
        room,
        plan,
        results: inPlanOrder(plan.subtasks, state.results),
      },
      config,
    );
    const modelCalls = calls;
    const unusable = `Planning round ${round} proposed ${shape.noun}s that could not be used; the plan was kept as it was.`;
    if (proposed === undefined) return write({ plan: complete, modelCalls, warnings: [unusable] });
    const additions = proposed.slice(0, room);
    if (additions.length === 0) return write({ plan: complete, modelCalls });

    const offset = plan.subtasks.length;
    let added: CoreSubtask[];
    try {
      const numbered = additions.map((subtask, index) => ({
        ...(subtask as object),
        id: `s${offset + index + 1}`,
      }));
      // Ids and dependencies are checked over the whole plan, old subtasks and new.
      added = shape
        .withIds([...plan.subtasks, ...numbered], `plan.${shape.keys.subtasks}`)
        .slice(offset);
    } catch {
      // This round's proposal is dropped; the next round (if any) may do better.
      return write({ plan: { ...plan, round }, modelCalls, warnings: [unusable] });
    }
    added = assign(added, configuration).map((subtask) => ({ ...subtask, round }));
    return write({
      plan: {
        ...plan,
        subtasks: [...plan.subtasks, ...added],
        status: "approved",
        source: "replan",
        round,
      },
      modelCalls,
    });
  };
}
