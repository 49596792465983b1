import { HumanMessage, SystemMessage } from "@langchain/core/messages";
import type { LangGraphRunnableConfig } from "@langchain/langgraph";
import type { ChatModelProvider } from "../models/chat-models.js";
import { askStructured } from "../models/structured-output.js";
import { runConfiguration } from "../schemas/configuration.js";
import { assignRoles, withIds } from "../schemas/input.js";
import { planSchemaFor, type PlanState } from "../schemas/plan.js";
import { replanUserPrompt } from "../schemas/prompts.js";
import type { Section } from "../schemas/section.js";
import type { ReportStateType, ReportUpdate } from "../schemas/state.js";

/**
 * Creates the replanner node, a later planning round (reached from dispatch when a round's sections
 * are written and `maxPlanningRounds` allows another):
 * 1. with no room left under `maxSections`, marks the plan complete without a model call;
 * 2. shows the planner the names and short summaries of what was written, and asks for sections
 *    to add (structured output, tagged `planner` and `round:<n>`);
 * 3. no sections in the answer completes the plan; an unusable answer also keeps the plan as it
 *    was, with a warning: the written sections are never put at risk by a later round;
 * 4. gives the additions the next ids and their roles, checks ids and dependencies over the whole
 *    plan, and hands the grown plan back to dispatch to be announced and written.
 */
export function createReplannerNode(dependencies: { models: ChatModelProvider }) {
  return async function replanner(
    state: ReportStateType,
    config: LangGraphRunnableConfig,
  ): Promise<ReportUpdate> {
    const configuration = runConfiguration(config);
    const plan = state.plan!;
    const round = plan.round + 1;
    const room = configuration.maxSections - plan.sections.length;
    const complete: PlanState = { ...plan, status: "complete" };
    if (room <= 0) return { plan: complete };

    const byId = new Map(state.completedSections.map((section) => [section.id, section]));
    const written = plan.sections.flatMap((section) => {
      const completed = byId.get(section.id);
      return completed
        ? [
            {
              id: section.id,
              name: section.name,
              summary: completed.content.slice(0, 300).replace(/\s+/g, " "),
            },
          ]
        : [];
    });
    const schema = planSchemaFor(configuration.roles.map((role) => role.name));
    // One question per round: an unusable answer keeps the plan (a fallback the client learned
    // from it applies to the next round).
    const answer = await askStructured({
      model: dependencies.models({ role: "planner", configuration }),
      schema,
      name: "plan",
      messages: [
        new SystemMessage(configuration.plannerPrompt),
        new HumanMessage(replanUserPrompt({ topic: state.topic, round, room, written })),
      ],
      callOptions: { tags: ["planner", `round:${round}`], metadata: { planning_round: round } },
      strategy: configuration.structuredOutput,
    });
    const modelCalls = [{ role: "planner" as const, model: answer.model, ...answer.usage }];
    const unusable = `Planning round ${round} proposed sections that could not be used; the plan was kept as it was.`;
    if (answer.problem !== undefined) return { plan: complete, modelCalls, warnings: [unusable] };
    const proposed = answer.value.sections.slice(0, room);
    if (proposed.length === 0) return { plan: complete, modelCalls };

    const offset = plan.sections.length;
    let added: Section[];
    try {
      const numbered = proposed.map((section, index) => ({
        ...section,
        id: `s${offset + index + 1}`,
      }));
      // Ids and dependencies are checked over the whole plan, old sections and new.
      added = withIds([...plan.sections, ...numbered], "plan.sections").slice(offset);
    } catch {
      // This round's proposal is dropped; the next round (if any) may do better.
      return { plan: { ...plan, round }, modelCalls, warnings: [unusable] };
    }
    added = assignRoles(added, configuration.roles).map((section) => ({ ...section, round }));
    return {
      plan: {
        ...plan,
        sections: [...plan.sections, ...added],
        status: "approved",
        source: "replan",
        round,
      },
      modelCalls,
    };
  };
}
