import { isGraphBubbleUp, type LangGraphRunnableConfig } from "@langchain/langgraph";
import { shortMessage } from "../errors.js";
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
  /** Removes every configured secret from a text (a failed round's message, before it is cut). */
  redact?: (text: string) => string;
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

    const unusable = `Planning round ${round} proposed ${shape.noun}s that could not be used; the plan was kept as it was.`;
    let asked: Awaited<ReturnType<Replanner>>;
    try {
      asked = await options.replan(
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
    } catch (error) {
      // The work done is paid for: a later round that fails never costs it.
      if (isGraphBubbleUp(error) || config.signal?.aborted) throw error;
      return write({
        plan: complete,
        warnings: [
          `${unusable} (${shortMessage(error, { maxLength: 200, redact: options.redact })})`,
        ],
      });
    }
    const { proposed, calls: modelCalls } = asked;
    if (!Array.isArray(proposed)) {
      return write({ plan: complete, modelCalls, warnings: [unusable] });
    }
    const additions = proposed.slice(0, room);
    if (additions.length === 0) return write({ plan: complete, modelCalls });

    const offset = plan.subtasks.length;
    let added: CoreSubtask[];
    try {
      const numbered = nextIds(plan.subtasks, additions.length).map((id, index) => ({
        ...(additions[index] as object),
        id,
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

/** `count` ids for added subtasks: the next `s<n>` after the plan's size that no subtask has. */
function nextIds(subtasks: readonly { id: string }[], count: number): string[] {
  const taken = new Set(subtasks.map((subtask) => subtask.id));
  const ids: string[] = [];
  for (let n = subtasks.length + 1; ids.length < count; n += 1) {
    if (!taken.has(`s${n}`)) ids.push(`s${n}`);
  }
  return ids;
}
