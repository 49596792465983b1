import { Command, Overwrite, interrupt, type LangGraphRunnableConfig } from "@langchain/langgraph";
import { runConfiguration } from "../schemas/configuration.js";
import { withIds } from "../schemas/input.js";
import {
  PLAN_REVIEW_ANSWERS,
  parsePlanReview,
  type PlanReview,
  type PlanReviewRequest,
} from "../schemas/review.js";
import type { Section } from "../schemas/section.js";
import type { ReportStateType } from "../schemas/state.js";

/**
 * The review_plan node (reached from dispatch when a plan awaits review, `reviewPlan: true`), a
 * person's checkpoint between the plan and the work it costs:
 * 1. pauses the run with the plan as the interrupt value (`PlanReviewRequest`);
 * 2. on resume, reads the answer: approve, an edited list of sections, or feedback;
 * 3. an answer it cannot use pauses again with the reason in `error`, so the thread stays resumable;
 *    so does feedback once `maxPlanRevisions` is used up;
 * 4. approve: the plan goes to dispatch to be written; edit: the edited plan replaces it (and is
 *    announced by dispatch); feedback: back to the orchestrator, which plans again with the
 *    previous plan and the feedback.
 * It is its own node so that resuming re-runs only the review, never the planner.
 */
export function reviewPlan(state: ReportStateType, config: LangGraphRunnableConfig): Command {
  const configuration = runConfiguration(config);
  const plan = state.plan!;
  const revisionsLeft = Math.max(0, configuration.maxPlanRevisions - plan.revisions);
  let error: string | undefined;
  let decision: { review: PlanReview; sections?: Section[] } | undefined;
  // Each unusable answer costs one more interrupt; on resume LangGraph replays the answers given
  // so far, in order, so this loop ends where the reviewer left off.
  while (!decision) {
    const request: PlanReviewRequest = {
      type: "plan_review",
      topic: state.topic,
      plan: plan.sections,
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
        decision = { review: parsed.review, sections: withIds(parsed.review.sections, "sections") };
      } catch (invalid) {
        error = `${(invalid as Error).message} ${PLAN_REVIEW_ANSWERS}`;
      }
    } else {
      decision = { review: parsed.review };
    }
  }

  const { review, sections } = decision;
  if (review.action === "feedback") {
    return new Command({
      update: {
        plan: {
          ...plan,
          status: "revise",
          feedback: review.feedback,
          revisions: plan.revisions + 1,
        },
      },
      goto: "orchestrator",
    });
  }
  if (sections) {
    return new Command({
      update: {
        plan: { ...plan, sections, status: "approved", source: "review" },
        completedSections: new Overwrite([]),
        failedSections: new Overwrite([]),
      },
      goto: "dispatch",
    });
  }
  // Approved as announced before the review: written without a second announcement.
  return new Command({ update: { plan: { ...plan, status: "writing" } }, goto: "dispatch" });
}
