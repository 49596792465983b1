import { Command, Overwrite, interrupt, type LangGraphRunnableConfig } from "@langchain/langgraph";
import { resolveConfiguration } from "../graph/configuration.js";
import { emitProgress } from "../graph/events.js";
import { fanOut } from "../graph/routing.js";
import type { ReportStateType } from "../graph/state.js";
import { withIds } from "../schemas/input.js";
import {
  PLAN_REVIEW_ANSWERS,
  parsePlanReview,
  type PlanReview,
  type PlanReviewRequest,
} from "../schemas/review.js";
import type { Section } from "../schemas/section.js";

/**
 * The review_plan node (only reached with `reviewPlan: true`), a person's checkpoint between the
 * plan and the work it costs:
 * 1. pauses the run with the plan as the interrupt value (`PlanReviewRequest`);
 * 2. on resume, reads the answer: approve, an edited list of sections, or feedback;
 * 3. an answer it cannot use pauses again with the reason in `error`, so the thread stays resumable;
 *    so does feedback once `maxPlanRevisions` is used up;
 * 4. approve or edit: fans the (edited) plan out to the workers; feedback: back to the orchestrator,
 *    which plans again with the previous plan and the feedback.
 * It is its own node so that resuming re-runs only the review, never the planner.
 */
export function reviewPlan(state: ReportStateType, config: LangGraphRunnableConfig): Command {
  const configuration = resolveConfiguration(config);
  const revisionsLeft = Math.max(0, configuration.maxPlanRevisions - state.planRevisions);
  let error: string | undefined;
  let decision: { review: PlanReview; plan?: Section[] } | undefined;
  // Each unusable answer costs one more interrupt; on resume LangGraph replays the answers given
  // so far, in order, so this loop ends where the reviewer left off.
  while (!decision) {
    const request: PlanReviewRequest = {
      type: "plan_review",
      topic: state.topic,
      plan: state.plan,
      revisionsLeft,
      answers: PLAN_REVIEW_ANSWERS,
      ...(error ? { error } : {}),
    };
    const parsed = parsePlanReview(interrupt(request));
    error = parsed.error;
    if (!parsed.review) continue;
    if (parsed.review.action === "feedback" && revisionsLeft === 0) {
      error = `No revisions left (maxPlanRevisions is ${configuration.maxPlanRevisions}): approve the plan or edit it.`;
    } else if (parsed.review.action === "edit") {
      try {
        decision = { review: parsed.review, plan: withIds(parsed.review.sections, "sections") };
      } catch (invalid) {
        error = `${(invalid as Error).message} ${PLAN_REVIEW_ANSWERS}`;
      }
    } else {
      decision = { review: parsed.review };
    }
  }

  if (decision.review.action === "feedback") {
    return new Command({
      update: { planFeedback: decision.review.feedback, planRevisions: state.planRevisions + 1 },
      goto: "orchestrator",
    });
  }
  const plan = decision.plan ?? state.plan;
  if (decision.plan) {
    emitProgress(config, {
      type: "plan_ready",
      source: "review",
      sections: plan.map(({ id, name }) => ({ id, name })),
    });
  }
  const approved = {
    ...state,
    plan,
    completedSections: decision.plan ? [] : state.completedSections,
    failedSections: decision.plan ? [] : state.failedSections,
  };
  return new Command({
    update: {
      planApproved: true,
      ...(decision.plan
        ? { plan, completedSections: new Overwrite([]), failedSections: new Overwrite([]) }
        : {}),
    },
    goto: fanOut(approved, config),
  });
}
