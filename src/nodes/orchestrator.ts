import { HumanMessage, SystemMessage } from "@langchain/core/messages";
import { Overwrite, type LangGraphRunnableConfig } from "@langchain/langgraph";
import { InvalidInputError, PlanError } from "../errors.js";
import { resolveConfiguration } from "../graph/configuration.js";
import { emitProgress } from "../graph/events.js";
import type { ReportStateType, ReportUpdate } from "../graph/state.js";
import { DEFAULT_ROLES, type Configuration } from "../schemas/configuration.js";
import { validateInput, withIds } from "../schemas/input.js";
import { planSchemaFor } from "../schemas/plan.js";
import { structuredOutputSchema } from "../schemas/json-schema.js";
import { NO_USAGE, addUsage, usageOf, type ModelUsage } from "../schemas/usage.js";
import {
  chatModelName,
  isUnusableAnswerError,
  type ChatModelProvider,
} from "../models/chat-models.js";
import type { AIMessage } from "@langchain/core/messages";
import type { Section } from "../schemas/section.js";
import { plannerUserPrompt, replanUserPrompt } from "./prompts.js";

/**
 * Creates the orchestrator node, which plans the report:
 * 1. validates the input and resolves the run's configuration (before any model call);
 * 2. keeps the thread's current plan, and its finished sections, when the run is a re-run of the
 *    same topic (a resume after a crash or after failed sections) and no reviewer asked for a new
 *    plan: nothing is planned or paid twice;
 * 3. takes a ready-made plan from the input as given, skipping the planner model;
 * 4. otherwise asks the planner model for a plan through structured output, telling it the bound
 *    (and, after a review, the previous plan and the reviewer's feedback), and asks again (up to `maxPlanAttempts` in all) when the answer is malformed, off-schema or
 *    empty; then fails with a `PlanError` that says what came back;
 * 5. cuts a plan longer than `maxSections` with a warning, gives each section a stable id, resets
 *    the sections of any earlier plan, marks the plan for review when `reviewPlan` is set, and
 *    announces the plan on the custom stream.
 */
export function createOrchestratorNode(dependencies: { models: ChatModelProvider }) {
  return async function orchestrator(
    state: ReportStateType,
    config: LangGraphRunnableConfig,
  ): Promise<ReportUpdate> {
    const input = validateInput(state);
    const configuration = resolveConfiguration(config);

    if (state.replanRequested) return replan(dependencies.models, configuration, state, config);

    const feedback = state.planFeedback.trim();
    if (
      !feedback &&
      state.plan.length > 0 &&
      state.planTopic === input.topic &&
      samePlan(input.sections, state.plan)
    ) {
      announce(config, state.plan, "checkpoint");
      // The sections that failed last time are about to be retried; their old errors are history.
      return { topic: input.topic, failedSections: new Overwrite([]), budgetExhausted: false };
    }

    let plan: Section[];
    let plannerUsage: ModelUsage = { model: "", ...NO_USAGE };
    const warnings: string[] = [];
    if (input.sections) {
      plan = input.sections;
      announce(config, plan, "input");
    } else {
      const review = feedback ? { previousPlan: state.plan, feedback } : undefined;
      const planned = await planSections(
        dependencies.models,
        configuration,
        input.topic,
        warnings,
        review,
      );
      plan = planned.plan;
      // A revision adds to the planner's bill; a plan made afresh starts a new one.
      plannerUsage = feedback
        ? { ...planned.usage, ...addUsage(state.plannerUsage, planned.usage) }
        : planned.usage;
      announce(config, plan, "planner");
    }
    plan = assignRoles(plan, configuration);
    // A new plan: sections written for an earlier plan on this thread no longer apply.
    return {
      topic: input.topic,
      planTopic: input.topic,
      plan,
      planApproved: !configuration.reviewPlan,
      planningRound: 1,
      replanRequested: false,
      budgetExhausted: false,
      plannerUsage,
      planFeedback: "",
      // A revision keeps the count the reviewer's feedback raised; a plan made afresh starts at 0.
      planRevisions: feedback ? state.planRevisions : 0,
      completedSections: new Overwrite([]),
      failedSections: new Overwrite([]),
      warnings: new Overwrite(warnings),
    };
  };
}

async function planSections(
  models: ChatModelProvider,
  configuration: Configuration,
  topic: string,
  warnings: string[],
  review?: { previousPlan: Section[]; feedback: string },
): Promise<{ plan: Section[]; usage: ModelUsage }> {
  // Unusable answers are re-asked here, and only here: the default clients do not retry them
  // (see `retryTransportFailuresOnly`), so attempts never multiply.
  const roleNames = configuration.roles.map((role) => role.name);
  const schema = planSchemaFor(roleNames);
  const model = models({ role: "planner", configuration });
  // The plan's JSON schema (strict-compatible: every field required, no extra properties) rather
  // than the zod object: the OpenAI SDK then leaves parsing to LangChain's output parser, so with
  // includeRaw an unusable answer still comes back with its token usage for the ledger. The zod
  // schema validates the answer below, in `checkPlan`.
  const jsonSchema = structuredOutputSchema(schema);
  const planner = model.withStructuredOutput(jsonSchema, { name: "plan", includeRaw: true });
  let usage: ModelUsage = { model: chatModelName(model), ...NO_USAGE };
  const messages = [
    new SystemMessage(configuration.plannerPrompt),
    new HumanMessage(
      plannerUserPrompt({
        topic,
        maxSections: configuration.maxSections,
        review,
        roles: roleNames.length > 1 ? configuration.roles : undefined,
      }),
    ),
  ];
  let lastError: PlanError | undefined;
  for (let attempt = 1; attempt <= configuration.maxPlanAttempts; attempt += 1) {
    try {
      const answer = await askPlanner(() =>
        planner.invoke(messages, { tags: ["planner"], metadata: { attempt } }),
      );
      usage = { ...usage, ...addUsage(usage, usageOf(answer.raw as AIMessage | undefined)) };
      if (answer.parsed === null || answer.parsed === undefined) {
        throw new PlanError({
          message: "the planner's answer is not a valid plan (it could not be parsed)",
          plan: (answer.raw as AIMessage | undefined)?.content,
        });
      }
      return { plan: checkPlan(answer.parsed, configuration, warnings, schema), usage };
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

/** Calls the planner; an answer that cannot be parsed becomes a `PlanError`, other errors pass. */
async function askPlanner(
  call: () => Promise<{ raw: unknown; parsed: unknown }>,
): Promise<{ raw: unknown; parsed: unknown }> {
  try {
    return await call();
  } catch (error) {
    if (!isUnusableAnswerError(error)) throw error;
    throw new PlanError({
      message: `the planner's answer is not a valid plan (${(error as Error).message})`,
      plan: (error as { llmOutput?: unknown }).llmOutput,
      cause: error,
    });
  }
}

/** Validates the answer against the plan schema, cuts it to `maxSections` and gives it ids. */
function checkPlan(
  answer: unknown,
  configuration: Configuration,
  warnings: string[],
  schema: ReturnType<typeof planSchemaFor>,
): Section[] {
  const result = schema.safeParse(answer);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new PlanError({
      message: `the planner's answer is not a valid plan (${issue?.path.join(".") || "plan"}: ${issue?.message ?? "invalid"})`,
      plan: answer,
      cause: result.error,
    });
  }
  let sections = result.data.sections;
  if (sections.length === 0) {
    throw new PlanError({
      message: "the planner returned an empty plan (no sections)",
      plan: answer,
    });
  }
  if (sections.length > configuration.maxSections) {
    warnings.push(
      `The planner proposed ${sections.length} sections; kept the first ${configuration.maxSections} (maxSections).`,
    );
    sections = sections.slice(0, configuration.maxSections);
  }
  try {
    return withIds(sections, "plan.sections");
  } catch (error) {
    throw new PlanError({ message: (error as Error).message, plan: answer, cause: error });
  }
}

/** True when no ready-made plan is given, or the one given is the thread's current plan. */
function samePlan(given: Section[] | undefined, current: Section[]): boolean {
  if (!given) return true;
  return (
    given.length === current.length &&
    given.every(
      (section, index) =>
        section.id === current[index]!.id &&
        section.name === current[index]!.name &&
        section.description === current[index]!.description,
    )
  );
}

function announce(
  config: LangGraphRunnableConfig,
  plan: Section[],
  source: "planner" | "input" | "checkpoint",
): void {
  emitProgress(config, {
    type: "plan_ready",
    source,
    sections: plan.map(({ id, name }) => ({ id, name })),
  });
}

/**
 * Gives each section its writer's role. With the default roster nothing changes (no role). With a
 * configured roster, a section keeps the role it names (which must be on the roster) and a section
 * without one gets the roster's first role.
 */
function assignRoles(plan: Section[], configuration: Configuration): Section[] {
  const names = configuration.roles.map((role) => role.name);
  const isDefault = JSON.stringify(configuration.roles) === JSON.stringify(DEFAULT_ROLES);
  return plan.map((section) => {
    if (section.role !== undefined && !names.includes(section.role)) {
      throw new InvalidInputError({
        field: "sections",
        message: `Section "${section.name}" names the role "${section.role}", which is not on the roster (${names.join(", ")}).`,
      });
    }
    if (isDefault) return section.role === undefined ? section : { ...section, role: undefined };
    return { ...section, role: section.role ?? names[0] };
  });
}

/**
 * A later planning round: the planner sees names and short summaries of what was written and may
 * add sections (ids continue, within `maxSections` in all) or none, which completes the plan.
 */
async function replan(
  models: ChatModelProvider,
  configuration: Configuration,
  state: ReportStateType,
  config: LangGraphRunnableConfig,
): Promise<ReportUpdate> {
  const round = state.planningRound + 1;
  const room = configuration.maxSections - state.plan.length;
  const done = { replanRequested: false, planningRound: round };
  // No room, or nothing to add, means the plan is complete: no further rounds.
  const complete = { replanRequested: false, planningRound: configuration.maxPlanningRounds };
  if (room <= 0) return complete;
  const model = models({ role: "planner", configuration });
  const schema = planSchemaFor(configuration.roles.map((role) => role.name));
  const byId = new Map(state.completedSections.map((section) => [section.id, section]));
  const written = state.plan.flatMap((section) => {
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
  // The sections are written by now: an unusable answer keeps the plan (with a warning); it
  // never fails the run.
  const unusable = `Planning round ${round} proposed sections that could not be used; the plan was kept as it was.`;
  let answer: { raw: unknown; parsed: unknown };
  try {
    answer = await askPlanner(() =>
      model
        .withStructuredOutput(structuredOutputSchema(schema), { name: "plan", includeRaw: true })
        .invoke(
          [
            new SystemMessage(configuration.plannerPrompt),
            new HumanMessage(replanUserPrompt({ topic: state.topic, round, room, written })),
          ],
          { tags: ["planner", `round:${round}`], metadata: { planning_round: round } },
        ),
    );
  } catch (error) {
    if (!PlanError.isInstance(error)) throw error;
    return { ...complete, warnings: [unusable] };
  }
  const usage = usageOf(answer.raw as AIMessage | undefined);
  const plannerUsage = { ...state.plannerUsage, ...addUsage(state.plannerUsage, usage) };
  const parsed = schema.safeParse(answer.parsed);
  if (!parsed.success) return { ...complete, plannerUsage, warnings: [unusable] };
  const proposed = parsed.data.sections.slice(0, room);
  if (proposed.length === 0) return { ...complete, plannerUsage };
  const offset = state.plan.length;
  let added: Section[];
  try {
    const numbered = proposed.map((section, index) => ({
      ...section,
      id: `s${offset + index + 1}`,
    }));
    // Ids and dependencies are checked over the whole plan, old sections and new.
    added = withIds([...state.plan, ...numbered], "plan.sections").slice(offset);
  } catch {
    return { ...done, plannerUsage, warnings: [unusable] };
  }
  added = assignRoles(added, configuration);
  const plan = [...state.plan, ...added];
  emitProgress(config, {
    type: "plan_ready",
    source: "replan",
    round,
    sections: added.map(({ id, name }) => ({ id, name })),
  });
  return { ...done, plan, plannerUsage };
}
