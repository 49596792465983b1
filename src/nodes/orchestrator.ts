import { HumanMessage, SystemMessage } from "@langchain/core/messages";
import { Overwrite, type LangGraphRunnableConfig } from "@langchain/langgraph";
import { PlanError } from "../errors.js";
import type { ChatModelProvider } from "../models/chat-models.js";
import { askStructured } from "../models/structured-output.js";
import { runConfiguration, type Configuration } from "../schemas/configuration.js";
import { assignRoles, validateInput, withIds } from "../schemas/input.js";
import { planSchemaFor, type PlanState } from "../schemas/plan.js";
import { plannerUserPrompt } from "../schemas/prompts.js";
import type { Section } from "../schemas/section.js";
import type { ReportStateType, ReportUpdate } from "../schemas/state.js";
import type { ModelCall } from "../schemas/usage.js";

/**
 * Creates the orchestrator node, which plans the report:
 * 1. validates the input and resolves the run's configuration (before any model call);
 * 2. keeps the thread's plan, and its finished sections, when the run is a re-run of the same
 *    topic (a resume after a crash or after failed sections) and no reviewer sent the plan back:
 *    nothing is planned or paid twice;
 * 3. takes a ready-made plan from the input as given, skipping the planner model;
 * 4. otherwise asks the planner model for a plan through structured output, telling it the bound
 *    (and, after a review, the previous plan and the reviewer's feedback), and asks again (up to
 *    `maxPlanAttempts` in all) when the answer is malformed, off-schema or empty; then fails with a
 *    `PlanError` that says what came back;
 * 5. cuts a plan longer than `maxSections` with a warning, gives each section a stable id and its
 *    role, resets the sections of any earlier plan, and hands the plan to dispatch: for review
 *    when `reviewPlan` is set, else approved for writing.
 */
export function createOrchestratorNode(dependencies: { models: ChatModelProvider }) {
  return async function orchestrator(
    state: ReportStateType,
    config: LangGraphRunnableConfig,
  ): Promise<ReportUpdate> {
    const input = validateInput(state);
    const configuration = runConfiguration(config);
    const current = state.plan;
    const revising = current?.status === "revise";

    if (
      current &&
      !revising &&
      current.topic === input.topic &&
      samePlan(input.sections, current.sections)
    ) {
      const kept: PlanState = {
        ...current,
        // A plan under review stays under review; any other is written on from where it stopped.
        status: current.status === "review" ? "review" : "approved",
        source: "checkpoint",
        // A plan whose planning rounds ended stays complete.
        round: current.status === "complete" ? configuration.maxPlanningRounds : current.round,
      };
      // The sections that failed last time are about to be retried; their old errors are history.
      return { topic: input.topic, plan: kept, failedSections: new Overwrite([]) };
    }

    const warnings: string[] = [];
    let sections: Section[];
    let calls: ModelCall[] = [];
    if (input.sections) {
      sections = input.sections;
    } else {
      const review =
        revising && current
          ? { previousPlan: current.sections, feedback: current.feedback ?? "" }
          : undefined;
      ({ sections, calls } = await planSections(
        dependencies.models,
        configuration,
        input.topic,
        warnings,
        review,
      ));
    }
    const plan: PlanState = {
      topic: input.topic,
      sections: assignRoles(sections, configuration.roles),
      status: configuration.reviewPlan ? "review" : "approved",
      source: input.sections ? "input" : "planner",
      round: 1,
      // A revision keeps the count the reviewer's feedback raised; a plan made afresh starts at 0.
      revisions: revising && current ? current.revisions : 0,
    };
    // A new plan: sections written for an earlier plan on this thread no longer apply. A revision
    // adds to the planner's bill; a plan made afresh starts a new one.
    return {
      topic: input.topic,
      plan,
      completedSections: new Overwrite([]),
      failedSections: new Overwrite([]),
      warnings: new Overwrite(warnings),
      modelCalls: revising ? calls : new Overwrite(calls),
    };
  };
}

async function planSections(
  models: ChatModelProvider,
  configuration: Configuration,
  topic: string,
  warnings: string[],
  review?: { previousPlan: Section[]; feedback: string },
): Promise<{ sections: Section[]; calls: ModelCall[] }> {
  // Unusable answers are re-asked here, and only here: the default clients do not retry them
  // (see `retryTransportFailuresOnly`), so attempts never multiply.
  const roleNames = configuration.roles.map((role) => role.name);
  const schema = planSchemaFor(roleNames);
  const model = models({ role: "planner", configuration });
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
  const calls: ModelCall[] = [];
  let lastError: PlanError | undefined;
  for (let attempt = 1; attempt <= configuration.maxPlanAttempts; attempt += 1) {
    const answer = await askStructured({
      model,
      schema,
      name: "plan",
      messages,
      callOptions: { tags: ["planner"], metadata: { attempt } },
      strategy: configuration.structuredOutput,
    });
    calls.push({ role: "planner", model: answer.model, ...answer.usage });
    try {
      if (answer.problem !== undefined) {
        throw new PlanError({
          message: `the planner's answer is not a valid plan (${answer.problem})`,
          plan: answer.content,
        });
      }
      return { sections: checkPlan(answer.value.sections, configuration, warnings), calls };
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

/** Cuts the planned sections to `maxSections` and gives them ids; an empty plan is unusable. */
function checkPlan(
  planned: { name: string; description: string; role?: string; dependsOn?: string[] }[],
  configuration: Configuration,
  warnings: string[],
): Section[] {
  let sections = planned;
  if (sections.length === 0) {
    throw new PlanError({
      message: "the planner returned an empty plan (no sections)",
      plan: { sections: planned },
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
    throw new PlanError({
      message: (error as Error).message,
      plan: { sections: planned },
      cause: error,
    });
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
