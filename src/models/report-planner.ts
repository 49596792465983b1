import { HumanMessage, SystemMessage } from "@langchain/core/messages";
import { planSchemaFor } from "../schemas/plan.js";
import { plannerUserPrompt, replanUserPrompt } from "../schemas/prompts.js";
import type { InputSection } from "../schemas/section.js";
import type { Planner, Replanner } from "../schemas/shape.js";
import { sectionsWithIds } from "../schemas/state.js";
import type { CompletedSection } from "../schemas/section.js";
import type { ChatModelProvider } from "./chat-models.js";
import { planWithModel, replanWithModel } from "./planner.js";

/**
 * The report's planner: the planner model (the `planner` role) splits the topic into at most
 * `maxSections` sections through structured output, with roles when the roster has several and,
 * after a review, the previous plan and the reviewer's feedback.
 */
export function createReportPlanner(models: ChatModelProvider): Planner {
  return async ({ request, configuration, review, warnings }) => {
    const roleNames = configuration.roles.map((role) => role.name);
    return planWithModel({
      model: models({ role: "planner", configuration }),
      schema: planSchemaFor(roleNames),
      listKey: "sections",
      messages: [
        new SystemMessage(configuration.plannerPrompt),
        new HumanMessage(
          plannerUserPrompt({
            topic: request,
            maxSections: configuration.maxSections,
            review: review && {
              previousPlan: review.previousPlan as unknown as InputSection[],
              feedback: review.feedback,
            },
            roles: roleNames.length > 1 ? configuration.roles : undefined,
          }),
        ),
      ],
      configuration,
      withIds: sectionsWithIds,
      noun: "section",
      warnings,
    });
  };
}

/**
 * The report's later planning rounds: the planner model is shown the names and short summaries
 * of what was written and asked for sections to add (see `replanWithModel`).
 */
export function createReportReplanner(models: ChatModelProvider): Replanner {
  return async ({ request, configuration, round, room, plan, results }) => {
    const names = new Map(plan.subtasks.map((section) => [section.id, section.name as string]));
    const written = (results as CompletedSection[]).map((section) => ({
      id: section.id,
      name: names.get(section.id) ?? section.name,
      summary: section.content.slice(0, 300).replace(/\s+/g, " "),
    }));
    return replanWithModel({
      model: models({ role: "planner", configuration }),
      schema: planSchemaFor(configuration.roles.map((role) => role.name)),
      listKey: "sections",
      messages: [
        new SystemMessage(configuration.plannerPrompt),
        new HumanMessage(replanUserPrompt({ topic: request, round, room, written })),
      ],
      round,
      strategy: configuration.structuredOutput,
    });
  };
}
