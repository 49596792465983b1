import { Command, type LangGraphRunnableConfig } from "@langchain/langgraph";
import { resolveConfiguration } from "../graph/configuration.js";
import { nextWave } from "../graph/routing.js";
import type { ReportStateType } from "../graph/state.js";
import { usageLedger } from "./synthesizer.js";
import { emitProgress } from "../graph/events.js";

/**
 * The dispatch node, the join after each wave of workers:
 * 1. sends the next wave: the pending sections whose dependencies are all written (without
 *    dependencies or a budget there is only one wave, sent by the orchestrator);
 * 2. with a token budget (every wave passes here, the first included), it first sums the tokens the run has used so far (from the stored state, so the check
 *    holds across a crash and resume) and, while the budget lasts, sends the next wave;
 * 3. once the budget is spent it starts nothing more, notes which sections were not written and
 *    why, and goes on to the synthesizer: what was written is kept;
 * 4. announces each wave on the custom stream (`wave_started`), and says which sections could not
 *    be written because a section they depend on failed;
 * 5. when a round is written and `maxPlanningRounds` allows, goes back to the orchestrator for
 *    another planning round.
 */
export function dispatch(state: ReportStateType, config: LangGraphRunnableConfig): Command {
  const configuration = resolveConfiguration(config);
  const next = nextWave(state, config);
  if (next === "synthesizer") {
    // Sections still pending here wait on a section that failed: say so, and finish.
    const settled = new Set(
      [...state.completedSections, ...state.failedSections].map((section) => section.id),
    );
    const blocked = state.plan.filter((section) => !settled.has(section.id));
    // A round is written: another planning round may add sections, while rounds remain.
    if (
      blocked.length === 0 &&
      !state.budgetExhausted &&
      state.planningRound < configuration.maxPlanningRounds
    ) {
      return new Command({ update: { replanRequested: true }, goto: "orchestrator" });
    }
    return new Command({
      ...(blocked.length
        ? {
            update: {
              warnings: [
                `${blocked.length} section${blocked.length === 1 ? " was" : "s were"} not written because a section they depend on failed: ${blocked.map((section) => section.id).join(", ")}.`,
              ],
            },
          }
        : {}),
      goto: "synthesizer",
    });
  }
  if (configuration.maxTotalTokens !== undefined) {
    const used = usageLedger(state, configuration.prices).total.total;
    if (used >= configuration.maxTotalTokens) {
      const written = new Set(state.completedSections.map((section) => section.id));
      const skipped = state.plan.filter((section) => !written.has(section.id)).length;
      return new Command({
        update: {
          budgetExhausted: true,
          warnings: [
            `The token budget (maxTotalTokens ${configuration.maxTotalTokens}) was reached after ${used} tokens: ${skipped} section${skipped === 1 ? " was" : "s were"} not started.`,
          ],
        },
        goto: "synthesizer",
      });
    }
  }
  emitProgress(config, {
    type: "wave_started",
    sections: next.map((send) => ({ id: send.args.section.id, name: send.args.section.name })),
  });
  return new Command({ goto: next });
}
