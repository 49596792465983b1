import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import type { BaseMessage } from "@langchain/core/messages";
import type { ZodType } from "zod";
import { PlanError } from "../errors.js";
import type { Configuration } from "../schemas/configuration.js";
import type { CoreSubtask } from "../schemas/shape.js";
import type { ModelCall } from "../schemas/usage.js";
import { askStructured } from "./structured-output.js";

/** What `planWithModel` needs: the model, the answer's schema and how to check its items. */
export interface ModelPlanningOptions {
  model: BaseChatModel;
  /** The answer's schema: an object whose `listKey` is the list of planned items. */
  schema: ZodType;
  listKey: string;
  messages: BaseMessage[];
  configuration: Pick<Configuration, "maxPlanAttempts" | "maxSections" | "structuredOutput">;
  /** Checks the items and gives them ids; throws an `InvalidInputError` saying what is wrong. */
  withIds: (items: unknown[], field: string) => CoreSubtask[];
  /** What an item is called in messages ("section", "subtask"). */
  noun: string;
  warnings: string[];
}

/**
 * Plans with a chat model through structured output (`askStructured`, which owns the fallbacks
 * between JSON schema, JSON mode and a prompt): asks again (up to `maxPlanAttempts` in all) when
 * the answer is malformed, off-schema, empty or fails `withIds`, then throws a `PlanError` that
 * says what came back. A plan longer than `maxSections` is cut with a warning. An answer with no
 * JSON at all is read as a Markdown list as a last resort (see `askStructured`), with a warning.
 * Every attempt's tokens are returned, paid or not.
 */
export async function planWithModel(
  options: ModelPlanningOptions,
): Promise<{ subtasks: CoreSubtask[]; calls: ModelCall[] }> {
  const { configuration, listKey } = options;
  // Unusable answers are re-asked here, and only here: the default clients do not retry them
  // (see `retryTransportFailuresOnly`), so attempts never multiply.
  const calls: ModelCall[] = [];
  let lastError: PlanError | undefined;
  for (let attempt = 1; attempt <= configuration.maxPlanAttempts; attempt += 1) {
    const answer = await askStructured({
      model: options.model,
      schema: options.schema,
      name: "plan",
      messages: options.messages,
      callOptions: { tags: ["planner"], metadata: { attempt } },
      strategy: configuration.structuredOutput,
      markdownList: { maxItems: configuration.maxSections },
    });
    calls.push({ role: "planner", model: answer.model, ...answer.usage });
    try {
      if (answer.problem !== undefined) {
        throw new PlanError({
          message: `the planner's answer is not a valid plan (${answer.problem})`,
          plan: answer.content,
        });
      }
      const items = (answer.value as Record<string, unknown[]>)[listKey] ?? [];
      const subtasks = checkPlan(items, options);
      if (answer.fromMarkdownList) {
        options.warnings.push(
          markdownListWarning(subtasks.length, answer.fromMarkdownList, options),
        );
      }
      return { subtasks, calls };
    } catch (error) {
      if (!PlanError.isInstance(error)) throw error;
      lastError = error;
    }
  }
  throw new PlanError({
    message: `No usable plan after ${configuration.maxPlanAttempts} attempt${configuration.maxPlanAttempts === 1 ? "" : "s"}: ${lastError!.message}`,
    plan: lastError!.plan,
    cause: lastError,
  });
}

/** What a user is told when the plan came from a Markdown list instead of JSON. */
function markdownListWarning(
  count: number,
  listed: { more: boolean },
  { noun, configuration }: ModelPlanningOptions,
): string {
  const cut = listed.more
    ? ` The list went on past maxSections (${configuration.maxSections}); the first ${count} were kept.`
    : "";
  return (
    `The plan was read from a Markdown list because the model server returned no JSON ` +
    `(${count} ${noun}${count === 1 ? "" : "s"}, no dependencies between them): check the ${noun} names, ` +
    `or use a model or server that answers JSON.${cut}`
  );
}

/** A planner's items cut to `maxSections`, with a warning when that dropped some. */
export function cutPlan<T>(items: T[], maxSections: number, noun: string, warnings: string[]): T[] {
  if (items.length <= maxSections) return items;
  warnings.push(
    `The planner proposed ${items.length} ${noun}s; kept the first ${maxSections} (maxSections).`,
  );
  return items.slice(0, maxSections);
}

/**
 * A later planning round with a chat model (tagged `planner` and `round:<n>`): one question, whose
 * unusable answer is `proposed: undefined` (the plan is then kept; a fallback the client learned
 * from it applies to the next round). The call's tokens are returned, paid or not.
 */
export async function replanWithModel(options: {
  model: BaseChatModel;
  schema: ZodType;
  listKey: string;
  messages: BaseMessage[];
  round: number;
  strategy: Configuration["structuredOutput"];
}): Promise<{ proposed: unknown[] | undefined; calls: ModelCall[] }> {
  const { round } = options;
  const answer = await askStructured({
    model: options.model,
    schema: options.schema,
    name: "plan",
    messages: options.messages,
    callOptions: { tags: ["planner", `round:${round}`], metadata: { planning_round: round } },
    strategy: options.strategy,
  });
  const calls = [{ role: "planner" as const, model: answer.model, ...answer.usage }];
  if (answer.problem !== undefined) return { proposed: undefined, calls };
  return { proposed: (answer.value as Record<string, unknown[]>)[options.listKey], calls };
}

/** Cuts the planned items to `maxSections` and gives them ids; an empty plan is unusable. */
function checkPlan(planned: unknown[], options: ModelPlanningOptions): CoreSubtask[] {
  const { configuration, listKey, noun, warnings } = options;
  if (planned.length === 0) {
    throw new PlanError({
      message: `the planner returned an empty plan (no ${noun}s)`,
      plan: { [listKey]: planned },
    });
  }
  const items = cutPlan(planned, configuration.maxSections, noun, warnings);
  try {
    return options.withIds(items, `plan.${listKey}`);
  } catch (error) {
    throw new PlanError({
      message: (error as Error).message,
      plan: { [listKey]: planned },
      cause: error,
    });
  }
}
