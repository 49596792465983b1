import { HumanMessage, SystemMessage } from "@langchain/core/messages";
import type { LangGraphRunnableConfig } from "@langchain/langgraph";
import { PlanError } from "../errors.js";
import { resolveConfiguration } from "../graph/configuration.js";
import { emitProgress } from "../graph/events.js";
import type { ReportStateType, ReportUpdate } from "../graph/state.js";
import type { ChatModelProvider } from "../models/chat-models.js";
import { validateInput, withIds } from "../schemas/input.js";
import { PlanSchema, type Plan } from "../schemas/plan.js";
import type { Section } from "../schemas/section.js";
import { plannerUserPrompt } from "./prompts.js";

/**
 * Creates the orchestrator node, which plans the report:
 * 1. validates the input and resolves the run's configuration (before any model call);
 * 2. takes a ready-made plan from the input as given, skipping the planner model;
 * 3. otherwise asks the planner model for a plan through structured output, telling it the bound;
 * 4. rejects an empty or malformed plan with a `PlanError`, and cuts a longer plan to `maxSections`
 *    with a warning;
 * 5. gives each section a stable id and announces the plan on the custom stream.
 */
export function createOrchestratorNode(dependencies: { models: ChatModelProvider }) {
  return async function orchestrator(
    state: ReportStateType,
    config: LangGraphRunnableConfig,
  ): Promise<ReportUpdate> {
    const input = validateInput(state);
    const configuration = resolveConfiguration(config);
    if (input.sections) {
      announce(config, input.sections, "input");
      return { topic: input.topic, plan: input.sections };
    }

    const planner = dependencies.models({ role: "planner", configuration });
    let answer: unknown;
    try {
      answer = await planner
        .withStructuredOutput(PlanSchema, { name: "plan" })
        .invoke([
          new SystemMessage(configuration.plannerPrompt),
          new HumanMessage(
            plannerUserPrompt({ topic: input.topic, maxSections: configuration.maxSections }),
          ),
        ]);
    } catch (error) {
      if (isOutputParsingError(error)) {
        throw new PlanError({
          message: `The planner's answer is not a valid plan: ${(error as Error).message}`,
          cause: error,
        });
      }
      throw error;
    }

    const planned = parsePlan(answer);
    const warnings: string[] = [];
    let kept = planned.sections;
    if (kept.length > configuration.maxSections) {
      warnings.push(
        `The planner proposed ${kept.length} sections; kept the first ${configuration.maxSections} (maxSections).`,
      );
      kept = kept.slice(0, configuration.maxSections);
    }
    let plan: Section[];
    try {
      plan = withIds(kept, "plan.sections");
    } catch (error) {
      throw new PlanError({ message: (error as Error).message, plan: answer, cause: error });
    }
    announce(config, plan, "planner");
    return { topic: input.topic, plan, warnings };
  };
}

function parsePlan(answer: unknown): Plan {
  const result = PlanSchema.safeParse(answer);
  if (!result.success) {
    throw new PlanError({
      message: `The planner's answer is not a valid plan: ${result.error.issues[0]?.message ?? "unknown error"}.`,
      plan: answer,
      cause: result.error,
    });
  }
  if (result.data.sections.length === 0) {
    throw new PlanError({
      message: "The planner returned an empty plan (no sections).",
      plan: answer,
    });
  }
  return result.data;
}

function announce(
  config: LangGraphRunnableConfig,
  plan: Section[],
  source: "planner" | "input",
): void {
  emitProgress(config, {
    type: "plan_ready",
    source,
    sections: plan.map(({ id, name }) => ({ id, name })),
  });
}

/** Errors that mean the model answered, but not with a parsable plan (bad JSON, wrong shape). */
function isOutputParsingError(error: unknown): boolean {
  if (error instanceof SyntaxError) return true;
  return (
    error instanceof Error &&
    (error.name === "OutputParserException" ||
      (error as { lc_error_code?: string }).lc_error_code === "OUTPUT_PARSING_FAILURE")
  );
}
