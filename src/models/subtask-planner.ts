import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { HumanMessage, SystemMessage } from "@langchain/core/messages";
import type { LangGraphRunnableConfig } from "@langchain/langgraph";
import { z } from "zod";
import { InvalidInputError } from "../errors.js";
import { SUBTASK_PLANNER_SYSTEM_PROMPT, subtaskPlannerUserPrompt } from "../schemas/prompts.js";
import type { CoreSubtask, Planner, Replanner } from "../schemas/shape.js";
import { checkSubtasks, type SubtaskFields } from "../schemas/subtasks.js";
import { cutPlan, planWithModel, replanWithModel } from "./planner.js";

/** A planner function as the core calls it: the request (and a review) in, subtasks out. */
export type SubtaskPlannerFunction = (
  input: { request: string; review?: { previousPlan: CoreSubtask[]; feedback: string } },
  config: LangGraphRunnableConfig,
) => unknown;

/** A later round as a function: what was planned and done in, subtasks to add out. */
export type SubtaskReplanFunction = (
  input: {
    request: string;
    round: number;
    room: number;
    plan: CoreSubtask[];
    results: { id: string }[];
  },
  config: LangGraphRunnableConfig,
) => unknown;

/** A chat-model planner's system prompt: text, or a function called at each planning call. */
export type PlannerPrompt =
  | string
  | ((input: { request: string }, config: LangGraphRunnableConfig) => string | Promise<string>);

/** How a generic graph plans: its planner, its prompt, and the schema of a given subtask. */
export interface SubtaskPlanning {
  planner: BaseChatModel | SubtaskPlannerFunction;
  plannerPrompt?: PlannerPrompt;
  /** `GivenSubtask` of `orchestratorWorkersSchemas`: what a planned subtask is checked against. */
  given: SubtaskFields;
  replan?: SubtaskReplanFunction;
}

/**
 * The planner of a generic graph, as the core calls it:
 * - a function: called with the request (and, after a review, the previous plan and the
 *   feedback); an empty answer is an error; more than `maxSections` subtasks are cut with a
 *   warning; the subtasks are checked against the schema and given ids;
 * - a chat model: asked for `{ subtasks: [...] }` through structured output (see
 *   `planWithModel`), with `plannerPrompt` as the system prompt.
 */
export function createSubtaskPlanner(planning: SubtaskPlanning): Planner {
  const { planner, given } = planning;
  const withIds = (items: unknown[], field: string) => checkSubtasks(items, given, field);
  if (typeof planner === "function") {
    return async ({ request, review, configuration, warnings }, config) => {
      const answer = await planner({ request, ...(review ? { review } : {}) }, config);
      if (!Array.isArray(answer) || answer.length === 0) {
        throw new InvalidInputError({
          field: "planner",
          message: "The planner function returned no subtasks: return a list of at least one.",
        });
      }
      const kept = cutPlan(answer as unknown[], configuration.maxSections, "subtask", warnings);
      return { subtasks: withIds(kept, "plan.subtasks"), calls: [] };
    };
  }
  const schema = planAnswerSchema(given);
  return async ({ request, review, configuration, warnings }, config) =>
    planWithModel({
      model: planner,
      schema,
      listKey: "subtasks",
      messages: [
        new SystemMessage(await systemPrompt(planning.plannerPrompt, request, config)),
        new HumanMessage(
          subtaskPlannerUserPrompt({ request, maxSubtasks: configuration.maxSections, review }),
        ),
      ],
      configuration,
      withIds,
      noun: "subtask",
      warnings,
    });
}

/**
 * Later planning rounds of a generic graph: the `replan` function; else a chat-model planner,
 * shown what was done (each result's first 300 characters); a function planner plans one round.
 */
export function createSubtaskReplanner(planning: SubtaskPlanning): Replanner {
  const { planner, replan } = planning;
  if (replan) {
    return async ({ request, round, room, plan, results }, config) => {
      const proposed = await replan({ request, round, room, plan: plan.subtasks, results }, config);
      return { proposed: Array.isArray(proposed) ? (proposed as unknown[]) : undefined, calls: [] };
    };
  }
  if (typeof planner === "function") return () => Promise.resolve({ proposed: [], calls: [] });
  const schema = planAnswerSchema(planning.given);
  return async ({ request, configuration, round, room, results }, config) =>
    replanWithModel({
      model: planner,
      schema,
      listKey: "subtasks",
      messages: [
        new SystemMessage(await systemPrompt(planning.plannerPrompt, request, config)),
        new HumanMessage(
          subtaskPlannerUserPrompt({
            request,
            maxSubtasks: configuration.maxSections,
            round: {
              number: round,
              room,
              done: (results as { id: string; result: unknown }[]).map((entry) => ({
                id: entry.id,
                result: summary(entry.result),
              })),
            },
          }),
        ),
      ],
      round,
      strategy: configuration.structuredOutput,
    });
}

/** A chat-model planner's answer: `{ subtasks: [...] }`, each with its fields and `dependsOn`. */
function planAnswerSchema(given: SubtaskFields) {
  const item = given.omit({ id: true, dependsOn: true });
  return z.object({
    subtasks: z
      .array(
        item.extend({
          dependsOn: z
            .array(z.string())
            .default([])
            .describe(
              "Ids of the subtasks whose results this one needs (s1 for the first listed, ...); empty when it stands alone.",
            ),
        }),
      )
      .describe("The subtasks, in the order their results should be read."),
  });
}

/** A chat-model planner's system prompt for this call: the given one, or the default. */
async function systemPrompt(
  given: PlannerPrompt | undefined,
  request: string,
  config: LangGraphRunnableConfig,
): Promise<string> {
  if (given === undefined) return SUBTASK_PLANNER_SYSTEM_PROMPT;
  return typeof given === "function" ? given({ request }, config) : given;
}

/** A result's first 300 characters on one line, for a later planning round. */
function summary(result: unknown): string {
  // Results are JSON data (checked by the worker wrapper), of bounded size.
  const text = typeof result === "string" ? result : (JSON.stringify(result) ?? "null");
  return text.slice(0, 300).replace(/\s+/g, " ");
}
