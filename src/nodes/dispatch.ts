import { Command, type LangGraphRunnableConfig } from "@langchain/langgraph";
import { resolveConfiguration } from "../graph/configuration.js";
import { nextWave } from "../graph/routing.js";
import type { ReportStateType } from "../graph/state.js";
import { usageLedger } from "./synthesizer.js";

/**
 * The dispatch node, the join after each wave of workers:
 * 1. without a token budget there is one wave, and it goes on to the synthesizer;
 * 2. with one (every wave passes here, the first included), it sums the tokens the run has used so far (from the stored state, so the check
 *    holds across a crash and resume) and, while the budget lasts, sends the next wave;
 * 3. once the budget is spent it starts nothing more, notes which sections were not written and
 *    why, and goes on to the synthesizer: what was written is kept.
 */
export function dispatch(state: ReportStateType, config: LangGraphRunnableConfig): Command {
  const configuration = resolveConfiguration(config);
  const next = nextWave(state, config);
  if (next === "synthesizer" || configuration.maxTotalTokens === undefined) {
    return new Command({ goto: "synthesizer" });
  }
  const used = usageLedger(state, configuration.prices).total.total;
  if (used < configuration.maxTotalTokens) return new Command({ goto: next });
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
