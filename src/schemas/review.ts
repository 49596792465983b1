import { z } from "zod";
import { InputSectionSchema } from "./section.js";

/** A reviewer's answer to the plan, as `Command({ resume })` carries it. */
export const PlanReviewSchema = z.discriminatedUnion("action", [
  z.object({ action: z.literal("approve").describe("Write the plan as it is.") }),
  z.object({
    action: z.literal("edit").describe("Replace the plan with these sections, then write them."),
    sections: z.array(InputSectionSchema).min(1).describe("The edited plan, in reading order."),
  }),
  z.object({
    action: z.literal("feedback").describe("Plan again, taking this feedback into account."),
    feedback: z.string().trim().min(1).describe("What the new plan should change."),
  }),
]);

/** A reviewer's answer, whatever the plan's list is called: an edit carries the unchecked items. */
export type PlanReview =
  | { action: "approve" }
  | { action: "edit"; sections: unknown[] }
  | { action: "feedback"; feedback: string };

/** The answers' schema for a plan whose list is called `listKey` (an edit's items are checked later). */
function reviewSchemaFor(listKey: string) {
  if (listKey === "sections") return PlanReviewSchema;
  return z.discriminatedUnion("action", [
    z.object({ action: z.literal("approve") }),
    z.object({
      action: z.literal("edit"),
      [listKey]: z.array(z.record(z.string(), z.unknown())).min(1),
    }),
    z.object({ action: z.literal("feedback"), feedback: z.string().trim().min(1) }),
  ]);
}

/** How to answer a plan review, repeated in every review request and error. */
export const PLAN_REVIEW_ANSWERS =
  'Resume with { action: "approve" }, { action: "edit", sections: [{ name, description }, ...] } or { action: "feedback", feedback: "..." } (shorthands: "approve", an array of sections, or feedback text).';

/** How to answer a plan review whose list is called `listKey`. */
export function planReviewAnswers(listKey: string): string {
  return listKey === "sections"
    ? PLAN_REVIEW_ANSWERS
    : `Resume with { action: "approve" }, { action: "edit", ${listKey}: [{ ... }, ...] } or { action: "feedback", feedback: "..." } (shorthands: "approve", an array of ${listKey}, or feedback text).`;
}

/** What the graph shows a reviewer when it pauses after planning (the interrupt value). */
export interface PlanReviewRequest {
  type: "plan_review";
  topic: string;
  plan: { id: string; name: string; description: string }[];
  /** How many more times the plan may be sent back with feedback. */
  revisionsLeft: number;
  /** Why the previous answer could not be used, when it could not. */
  error?: string;
  answers: string;
}

/**
 * Reads a resume value: the three documented forms, or their shorthands (`"approve"` or `true`, an
 * array of sections, a feedback string). Returns what was decided, or why the value cannot be used.
 */
export function parsePlanReview(
  value: unknown,
  listKey = "sections",
): { review: PlanReview; error?: undefined } | { review?: undefined; error: string } {
  let candidate = value;
  if (value === true || (typeof value === "string" && value.trim().toLowerCase() === "approve")) {
    candidate = { action: "approve" };
  } else if (Array.isArray(value)) {
    candidate = { action: "edit", [listKey]: value };
  } else if (typeof value === "string") {
    candidate = { action: "feedback", feedback: value };
  }
  const result = reviewSchemaFor(listKey).safeParse(candidate);
  if (result.success) {
    const answer = result.data as Record<string, unknown> & { action: PlanReview["action"] };
    if (answer.action !== "edit") return { review: answer as PlanReview };
    return { review: { action: "edit", sections: answer[listKey] as unknown[] } };
  }
  const issue = result.error.issues[0];
  const where = issue?.path.length ? ` at ${issue.path.join(".")}` : "";
  return {
    error: `This answer cannot be used (${issue?.message ?? "invalid"}${where}). ${planReviewAnswers(listKey)}`,
  };
}
