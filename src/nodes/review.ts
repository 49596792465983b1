import { Command, Overwrite, interrupt, type LangGraphRunnableConfig } from "@langchain/langgraph";
import { runConfiguration } from "../schemas/configuration.js";
import {
  agentInboxRequest,
  parsePlanReview,
  planReviewAnswers,
  type PlanReview,
  type PlanReviewRequest,
} from "../schemas/review.js";
import { readState, writeUpdate, type CoreSubtask, type StateShape } from "../schemas/shape.js";

/**
 * Creates the review_plan node (reached from dispatch when a plan awaits review, `reviewPlan: true`), a
 * person's checkpoint between the plan and the work it costs:
 * 1. pauses the run with the plan as the interrupt value (`PlanReviewRequest`, or with
 *    `planReviewFormat: "agent_inbox"` the Agent Inbox `HumanInterrupt` list chat UIs render);
 * 2. on resume, reads the answer: approve, an edited list of subtasks (checked as a ready-made
 *    plan is, custom fields kept), or feedback;
 * 3. an answer it cannot use pauses again with the reason in `error`, so the thread stays resumable;
 *    so does feedback once `maxPlanRevisions` is used up;
 * 4. approve: the plan goes to dispatch to be written; edit: the edited plan replaces it (and is
 *    announced by dispatch); feedback: back to the orchestrator, which plans again with the
 *    previous plan and the feedback.
 * It is its own node so that resuming re-runs only the review, never the planner.
 */
export function createReviewPlanNode(shape: StateShape) {
  return function reviewPlan(
    graphState: Record<string, unknown>,
    config: LangGraphRunnableConfig,
  ): Command {
    return reviewStep(shape, readState(shape, graphState), config);
  };
}

function reviewStep(
  shape: StateShape,
  state: ReturnType<typeof readState>,
  config: LangGraphRunnableConfig,
): Command {
  const configuration = runConfiguration(config);
  const plan = state.plan!;
  const write = (update: Parameters<typeof writeUpdate>[1]) => writeUpdate(shape, update);
  const revisionsLeft = Math.max(0, configuration.maxPlanRevisions - plan.revisions);
  let error: string | undefined;
  let decision: { review: PlanReview; sections?: CoreSubtask[] } | undefined;
  // Each unusable answer costs one more interrupt; on resume LangGraph replays the answers given
  // so far, in order, so this loop ends where the reviewer left off.
  while (!decision) {
    const request = {
      type: "plan_review",
      [shape.keys.request]: plan.request,
      plan: plan.subtasks,
      revisionsLeft,
      answers: planReviewAnswers(shape.keys.subtasks),
      ...(error ? { error } : {}),
    } as PlanReviewRequest;
    const asked =
      configuration.planReviewFormat === "agent_inbox"
        ? agentInboxRequest(request, shape.keys.subtasks)
        : request;
    const parsed = parsePlanReview(interrupt(asked), shape.keys.subtasks);
    error = parsed.error;
    if (!parsed.review) continue;
    if (parsed.review.action === "feedback" && revisionsLeft === 0) {
      error = `No revisions left (maxPlanRevisions is ${configuration.maxPlanRevisions}): approve the plan or edit it.`;
    } else if (parsed.review.action === "edit") {
      try {
        decision = {
          review: parsed.review,
          sections: shape.withIds(parsed.review.sections, shape.keys.subtasks),
        };
      } catch (invalid) {
        error = `This answer cannot be used: ${(invalid as Error).message} ${planReviewAnswers(shape.keys.subtasks)}`;
      }
    } else {
      decision = { review: parsed.review };
    }
  }

  const { review, sections } = decision;
  if (review.action === "feedback") {
    return new Command({
      update: write({
        plan: {
          ...plan,
          status: "revise",
          feedback: review.feedback,
          revisions: plan.revisions + 1,
        },
      }),
      goto: "orchestrator",
    });
  }
  if (sections) {
    return new Command({
      update: write({
        plan: { ...plan, subtasks: sections, status: "approved", source: "review" },
        results: new Overwrite([]),
        failed: new Overwrite([]),
      }),
      goto: "dispatch",
    });
  }
  // Approved as announced before the review: written without a second announcement.
  return new Command({ update: write({ plan: { ...plan, status: "writing" } }), goto: "dispatch" });
}
