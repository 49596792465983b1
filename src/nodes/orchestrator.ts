import { Overwrite, type LangGraphRunnableConfig } from "@langchain/langgraph";
import { InvalidInputError } from "../errors.js";
import { runConfiguration, type Configuration } from "../schemas/configuration.js";
import { askedInMessages, lastHumanText, requestMessage } from "../schemas/messages.js";
import {
  readState,
  writeUpdate,
  type CorePlan,
  type CoreSubtask,
  type Planner,
  type StateShape,
} from "../schemas/shape.js";
import type { ModelCall } from "../schemas/usage.js";

/**
 * Creates the orchestrator node, which plans the work:
 * 1. takes the request from the chat when the thread's last message is a human message the plan
 *    does not answer yet (`askedInMessages`), else from the `topic`/`request` key (recorded in the
 *    chat as a human message, so the chat reads right); validates it and resolves the run's
 *    configuration (before any model call);
 * 2. keeps the thread's plan, and its finished subtasks, when the run is a re-run of the same
 *    request (a resume after a crash or after failed subtasks) and no reviewer sent the plan back:
 *    nothing is planned or paid twice;
 * 3. takes a ready-made plan from the input as given, skipping the planner, and clears it from
 *    the state once it is the plan (so a later request on the thread plans afresh);
 * 4. otherwise asks the planner (for the report, the planner model through structured output,
 *    asked again on unusable answers; see `planWithModel`), after a review with the previous plan
 *    and the reviewer's feedback;
 * 5. gives each subtask what `assign` adds (the report's roles), resets the results of any
 *    earlier plan, and hands the plan to dispatch: for review when `reviewPlan` is set, else
 *    approved.
 */
export function createOrchestratorNode(options: {
  shape: StateShape;
  plan: Planner;
  assign?: (subtasks: CoreSubtask[], configuration: Configuration) => CoreSubtask[];
}) {
  const { shape, assign = (subtasks) => subtasks } = options;
  return async function orchestrator(
    graphState: Record<string, unknown>,
    config: LangGraphRunnableConfig,
  ): Promise<Record<string, unknown>> {
    const state = readState(shape, graphState);
    const current = state.plan;
    const asked = askedInMessages(state.messages, current?.messageId);
    const given = asked ? asked.text : state.request;
    if (given === undefined || given === null) {
      throw new InvalidInputError({
        field: shape.keys.request,
        message: `Nothing to do: give ${shape.keys.request}, or a human message in messages.`,
      });
    }
    const input = shape.validateInput({ request: given, subtasks: state.subtasks });
    const configuration = runConfiguration(config);
    const revising = current?.status === "revise";
    // The human message the plan answers: the one asked in, else the request recorded as one
    // (unless the chat's last human message already says it, as a re-run of the same request).
    const recorded =
      asked || lastHumanText(state.messages) === input.request
        ? undefined
        : requestMessage(input.request);
    const messageId = asked?.id ?? recorded?.id ?? current?.messageId;
    const messages = recorded ? { messages: [recorded] } : {};

    if (
      current &&
      !revising &&
      current.request === input.request &&
      (!input.subtasks ||
        shape.samePlan(
          input.subtasks,
          // A ready-made plan is the first round's: later rounds' additions are the thread's own.
          current.subtasks.filter((subtask) => subtask.round === undefined),
        ))
    ) {
      const kept: CorePlan = {
        ...current,
        // A plan under review stays under review; any other is done on from where it stopped.
        status: current.status === "review" ? "review" : "approved",
        source: "checkpoint",
        // A plan whose planning rounds ended stays complete.
        round: current.status === "complete" ? configuration.maxPlanningRounds : current.round,
        ...(messageId ? { messageId } : {}),
      };
      // The subtasks that failed last time are about to be retried; their old errors are history.
      return writeUpdate(shape, {
        request: input.request,
        ...(state.subtasks !== undefined && state.subtasks !== null ? { subtasks: null } : {}),
        plan: kept,
        failed: new Overwrite([]),
        ...messages,
      });
    }

    const warnings: string[] = [];
    let subtasks: CoreSubtask[];
    let calls: ModelCall[] = [];
    if (input.subtasks) {
      subtasks = input.subtasks;
    } else {
      const review =
        revising && current
          ? { previousPlan: current.subtasks, feedback: current.feedback ?? "" }
          : undefined;
      ({ subtasks, calls } = await options.plan(
        { request: input.request, configuration, review, warnings },
        config,
      ));
    }
    const plan: CorePlan = {
      request: input.request,
      subtasks: assign(subtasks, configuration),
      status: configuration.reviewPlan ? "review" : "approved",
      source: input.subtasks ? "input" : "planner",
      round: 1,
      // A revision keeps the count the reviewer's feedback raised; a plan made afresh starts at 0.
      revisions: revising && current ? current.revisions : 0,
      ...(messageId ? { messageId } : {}),
    };
    // A new plan: results of an earlier plan on this thread no longer apply. A revision adds to
    // the planner's bill; a plan made afresh starts a new one.
    return writeUpdate(shape, {
      request: input.request,
      // The ready-made plan is now the thread's plan: a later run with another request must not
      // find it in the state and take it for its own.
      ...(state.subtasks !== undefined && state.subtasks !== null ? { subtasks: null } : {}),
      plan,
      results: new Overwrite([]),
      failed: new Overwrite([]),
      warnings: new Overwrite(warnings),
      modelCalls: revising ? calls : new Overwrite(calls),
      ...messages,
    });
  };
}
