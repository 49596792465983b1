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

export type PlanReview = z.infer<typeof PlanReviewSchema>;

/** How to answer a plan review, repeated in every review request and error. */
export const PLAN_REVIEW_ANSWERS =
  'Resume with { action: "approve" }, { action: "edit", sections: [{ name, description }, ...] } or { action: "feedback", feedback: "..." } (shorthands: "approve", an array of sections, or feedback text).';

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
): { review: PlanReview; error?: undefined } | { review?: undefined; error: string } {
  let candidate = value;
  if (value === true || (typeof value === "string" && value.trim().toLowerCase() === "approve")) {
    candidate = { action: "approve" };
  } else if (Array.isArray(value)) {
    candidate = { action: "edit", sections: value };
  } else if (typeof value === "string") {
    candidate = { action: "feedback", feedback: value };
  }
  const result = PlanReviewSchema.safeParse(candidate);
  if (result.success) return { review: result.data };
  const issue = result.error.issues[0];
  const where = issue?.path.length ? ` at ${issue.path.join(".")}` : "";
  return {
    error: `This answer cannot be used (${issue?.message ?? "invalid"}${where}). ${PLAN_REVIEW_ANSWERS}`,
  };
}
