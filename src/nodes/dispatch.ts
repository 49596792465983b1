import { Command, Send, type LangGraphRunnableConfig } from "@langchain/langgraph";
import { runConfiguration, type Configuration } from "../schemas/configuration.js";
import { emitProgress } from "../schemas/events.js";
import type { PlanState } from "../schemas/plan.js";
import type { ReportStateType, WorkerInputType } from "../schemas/state.js";
import { tokensUsed } from "../schemas/usage.js";

/** Where dispatch may send the run. */
export const DISPATCH_DESTINATIONS = ["review_plan", "worker", "replanner", "synthesizer"] as const;

/**
 * The dispatch node, the one place that announces plans and sends workers. It runs after every
 * planning step and after every wave of workers (the join):
 * 1. a plan awaiting review is announced (`plan_ready`) and goes to `review_plan`;
 * 2. a plan just approved (planned, kept from the thread, edited, or grown by a later round) is
 *    announced, only its new sections for a later round, and marked as being written;
 * 3. sends one `Send("worker", { topic, section, dependencies })` per pending section whose
 *    dependencies are all written: all at once, or, under a token budget (`maxTotalTokens`), a wave
 *    of at most `maxConcurrency` sections after checking the tokens used so far (from the stored
 *    calls, so the check holds across a crash and resume); waves are announced (`wave_started`)
 *    when there are dependencies or a budget;
 * 4. once the budget is spent it starts nothing more and says which sections were not started;
 *    sections waiting on a failed section are named in a warning;
 * 5. when a round is written and `maxPlanningRounds` allows another, goes to the replanner; else
 *    to the synthesizer. A section that failed in this run is not retried within it (a re-run of
 *    the thread does that).
 */
export function dispatch(state: ReportStateType, config: LangGraphRunnableConfig): Command {
  const configuration = runConfiguration(config);
  let plan = state.plan!;
  if (plan.status === "review") {
    announce(config, plan, plan.sections);
    return new Command({ goto: "review_plan" });
  }
  if (plan.status === "approved") {
    const announced =
      plan.source === "replan"
        ? plan.sections.filter((section) => section.round === plan.round)
        : plan.sections;
    announce(config, plan, announced);
    plan = { ...plan, status: "writing" };
  }
  const update = plan === state.plan ? {} : { plan };

  const written = new Map(state.completedSections.map((section) => [section.id, section]));
  const failed = new Set(state.failedSections.map((section) => section.id));
  const pending = plan.sections.filter(
    (section) => !written.has(section.id) && !failed.has(section.id),
  );
  const ready = pending.filter((section) =>
    (section.dependsOn ?? []).every((id) => written.has(id)),
  );
  const budget = configuration.maxTotalTokens;
  const used = tokensUsed(state.modelCalls);
  const budgetSpent = budget !== undefined && used >= budget;

  if (ready.length > 0 && budgetSpent) {
    const skipped = plan.sections.filter((section) => !written.has(section.id)).length;
    return new Command({
      update: {
        ...update,
        warnings: [
          `The token budget (maxTotalTokens ${budget}) was reached after ${used} tokens: ${skipped} section${skipped === 1 ? " was" : "s were"} not started.`,
        ],
      },
      goto: "synthesizer",
    });
  }
  if (ready.length > 0) {
    const wave = budget === undefined ? ready : ready.slice(0, configuration.maxConcurrency);
    if (budget !== undefined || plan.sections.some((section) => section.dependsOn?.length)) {
      emitProgress(config, {
        type: "wave_started",
        sections: wave.map(({ id, name }) => ({ id, name })),
      });
    }
    return new Command({ update, goto: wave.map((section) => send(state, section, written)) });
  }

  // Nothing can be sent: what is still pending waits on a section that failed.
  if (pending.length > 0) {
    return new Command({
      update: {
        ...update,
        warnings: [
          `${pending.length} section${pending.length === 1 ? " was" : "s were"} not written because a section they depend on failed: ${pending.map((section) => section.id).join(", ")}.`,
        ],
      },
      goto: "synthesizer",
    });
  }
  return new Command({
    update,
    goto: anotherRound(plan, configuration, budgetSpent) ? "replanner" : "synthesizer",
  });
}

/** True when the written round may be followed by another planning round. */
function anotherRound(plan: PlanState, configuration: Configuration, budgetSpent: boolean) {
  return plan.status === "writing" && !budgetSpent && plan.round < configuration.maxPlanningRounds;
}

function send(
  state: ReportStateType,
  section: PlanState["sections"][number],
  written: Map<string, { name: string; content: string }>,
): Send<"worker", WorkerInputType> {
  const dependencies = (section.dependsOn ?? []).map((id) => {
    const { name, content } = written.get(id)!;
    return { id, name, content };
  });
  return new Send("worker", {
    topic: state.topic,
    section,
    ...(dependencies.length ? { dependencies } : {}),
  });
}

function announce(
  config: LangGraphRunnableConfig,
  plan: PlanState,
  sections: PlanState["sections"],
): void {
  emitProgress(config, {
    type: "plan_ready",
    source: plan.source,
    ...(plan.source === "replan" ? { round: plan.round } : {}),
    sections: sections.map(({ id, name }) => ({ id, name })),
  });
}
