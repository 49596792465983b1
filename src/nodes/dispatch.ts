import { Command, Send, type LangGraphRunnableConfig } from "@langchain/langgraph";
import { runConfiguration, type Configuration } from "../schemas/configuration.js";
import { emitProgress } from "../schemas/events.js";
import {
  readState,
  writeUpdate,
  type CorePlan,
  type CoreSubtask,
  type StateShape,
} from "../schemas/shape.js";
import { tokensUsed } from "../schemas/usage.js";

/** Where dispatch may send the run. */
export const DISPATCH_DESTINATIONS = ["review_plan", "worker", "replanner", "synthesizer"] as const;

/**
 * Creates the dispatch node, the one place that announces plans and sends workers. It runs after every
 * planning step and after every wave of workers (the join):
 * 1. a plan awaiting review is announced (`plan_ready`) and goes to `review_plan`;
 * 2. a plan just approved (planned, kept from the thread, edited, or grown by a later round) is
 *    announced, only its new sections for a later round, and marked as being written;
 * 3. sends one `Send("worker", { request, subtask, dependencies })` (under the shape's key names:
 *    the report's is `{ topic, section, dependencies }`) per pending section whose dependencies
 *    are all written, in waves of at most `stepSize(maxConcurrency)` sections (one LangGraph step
 *    each), or, under a token budget (`maxTotalTokens`), of at most `maxConcurrency` sections
 *    after checking the tokens used so far (from the stored calls, so the check holds across a
 *    crash and resume); waves are announced (`wave_started`) when there are dependencies, a
 *    budget, or more sections than one wave holds;
 * 4. once the budget is spent it starts nothing more and says which sections were not started;
 *    sections waiting on a failed section are named in a warning;
 * 5. when a round is written and `maxPlanningRounds` allows another, goes to the replanner; else
 *    to the synthesizer. A section that failed in this run is not retried within it (a re-run of
 *    the thread does that).
 */
export function createDispatchNode(shape: StateShape) {
  return function dispatch(
    graphState: Record<string, unknown>,
    config: LangGraphRunnableConfig,
  ): Command {
    return route(shape, readState(shape, graphState), config);
  };
}

function route(
  shape: StateShape,
  state: ReturnType<typeof readState>,
  config: LangGraphRunnableConfig,
): Command {
  const configuration = runConfiguration(config);
  const write = (update: Parameters<typeof writeUpdate>[1]) => writeUpdate(shape, update);
  let plan = state.plan!;
  if (plan.status === "review") {
    announce(shape, config, plan, plan.subtasks);
    return new Command({ goto: "review_plan" });
  }
  if (plan.status === "approved") {
    const announced =
      plan.source === "replan"
        ? plan.subtasks.filter((section) => section.round === plan.round)
        : plan.subtasks;
    announce(shape, config, plan, announced);
    plan = { ...plan, status: "writing" };
  }
  const update = plan === state.plan ? {} : { plan };

  const written = new Map(state.results.map((entry) => [entry.id, entry]));
  const failed = new Set(state.failed.map((entry) => entry.id));
  const pending = plan.subtasks.filter(
    (section) => !written.has(section.id) && !failed.has(section.id),
  );
  const ready = pending.filter((section) =>
    (section.dependsOn ?? []).every((id) => written.has(id)),
  );
  const budget = configuration.maxTotalTokens;
  const used = tokensUsed(state.modelCalls);
  const budgetSpent = budget !== undefined && used >= budget;

  if (ready.length > 0 && budgetSpent) {
    const skipped = plan.subtasks.filter((section) => !written.has(section.id)).length;
    return new Command({
      update: write({
        ...update,
        warnings: [
          `The token budget (maxTotalTokens ${budget}) was reached after ${used} tokens: ${skipped} ${shape.noun}${skipped === 1 ? " was" : "s were"} not started.`,
        ],
      }),
      goto: "synthesizer",
    });
  }
  if (ready.length > 0) {
    const size =
      budget === undefined ? stepSize(configuration.maxConcurrency) : configuration.maxConcurrency;
    const wave = ready.slice(0, size);
    if (
      budget !== undefined ||
      plan.subtasks.length > size ||
      plan.subtasks.some((section) => section.dependsOn?.length)
    ) {
      emitProgress(config, {
        type: "wave_started",
        sections: wave.map((subtask) => ({ id: subtask.id, name: shape.label(subtask) })),
      });
    }
    return new Command({
      update: write(update),
      goto: wave.map((subtask) => send(shape, plan.request, subtask, written)),
    });
  }

  // Nothing can be sent: what is still pending waits on a section that failed.
  if (pending.length > 0) {
    return new Command({
      update: write({
        ...update,
        warnings: [
          `${pending.length} ${shape.noun}${pending.length === 1 ? " was" : "s were"} not ${shape.noun === "section" ? "written" : "done"} because a ${shape.noun} they depend on failed: ${pending.map((section) => section.id).join(", ")}.`,
        ],
      }),
      goto: "synthesizer",
    });
  }
  return new Command({
    update: write(update),
    goto: anotherRound(plan, configuration, budgetSpent) ? "replanner" : "synthesizer",
  });
}

/** The fewest subtasks a step may hold, whatever `maxConcurrency` is. */
const MIN_STEP_SIZE = 256;
/** Round trips of `maxConcurrency` requests a step holds, so a step's tail is a small share of it. */
const STEP_ROUNDS = 8;

/**
 * The most subtasks one step (one LangGraph superstep) sends. LangGraph's costs per task grow with
 * the tasks in the step (the pending-write rescans, bench/upstream/), so a plan of thousands is
 * sent in steps of this size: enough round trips of `maxConcurrency` requests that the wait for a
 * step's slowest task is a small share of it, and few enough steps that a checkpointer stores the
 * state a few dozen times, not once a task.
 */
export function stepSize(maxConcurrency: number): number {
  return Math.max(MIN_STEP_SIZE, STEP_ROUNDS * maxConcurrency);
}

/** True when the written round may be followed by another planning round. */
function anotherRound(plan: CorePlan, configuration: Configuration, budgetSpent: boolean) {
  return plan.status === "writing" && !budgetSpent && plan.round < configuration.maxPlanningRounds;
}

/** One worker's `Send`: the request, its own subtask, and the results it depends on. */
function send(
  shape: StateShape,
  request: string,
  subtask: CoreSubtask,
  written: Map<string, { id: string }>,
): Send {
  const dependencies = (subtask.dependsOn ?? []).map((id) => shape.dependency(written.get(id)!));
  return new Send("worker", {
    [shape.keys.request]: request,
    [shape.keys.subtask]: subtask,
    ...(dependencies.length ? { dependencies } : {}),
  });
}

function announce(
  shape: StateShape,
  config: LangGraphRunnableConfig,
  plan: CorePlan,
  subtasks: CoreSubtask[],
): void {
  emitProgress(config, {
    type: "plan_ready",
    source: plan.source,
    ...(plan.source === "replan" ? { round: plan.round } : {}),
    sections: subtasks.map((subtask) => ({ id: subtask.id, name: shape.label(subtask) })),
  });
}
