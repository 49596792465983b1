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
 * How plan review asks: `plan_review`, one `PlanReviewRequest`; or `agent_inbox`, LangGraph's
 * `HumanInterrupt` list (`@langchain/langgraph/prebuilt`), which agent-chat-ui and Agent Inbox
 * render with accept, edit and respond buttons.
 */
export const PLAN_REVIEW_FORMATS = ["plan_review", "agent_inbox"] as const;
export type PlanReviewFormat = (typeof PLAN_REVIEW_FORMATS)[number];

/** A plan review as a `HumanInterrupt` (the Agent Inbox schema), in a list of one. */
export interface PlanReviewInterrupt {
  action_request: { action: "review_plan"; args: Record<string, unknown> };
  config: {
    allow_accept: boolean;
    allow_edit: boolean;
    allow_respond: boolean;
    allow_ignore: boolean;
  };
  description: string;
}

/**
 * The review request in the Agent Inbox form: the plan's list under `listKey` as the action's
 * arguments (what an edit changes), accept to approve, respond to send it back while revisions
 * are left, and a Markdown description of the plan and how to answer.
 */
export function agentInboxRequest(
  request: PlanReviewRequest,
  listKey: string,
): PlanReviewInterrupt[] {
  const { type: _type, answers: _answers, error, revisionsLeft, plan, ...rest } = request;
  const steps = plan.map((item, index) => {
    const label = typeof item.name === "string" ? item.name : item.id;
    const about = typeof item.description === "string" ? `: ${item.description}` : "";
    return `${index + 1}. **${label}**${about}`;
  });
  const description = [
    ...(error ? [`**${error}**`, ""] : []),
    `Review the plan${typeof rest.topic === "string" ? ` for "${rest.topic}"` : ""} before any of it is written:`,
    "",
    ...steps,
    "",
    `Accept to write it, edit \`${listKey}\` to change it` +
      (revisionsLeft > 0
        ? `, or respond with what to change for a new plan (${revisionsLeft} left).`
        : "; no revisions are left."),
  ].join("\n");
  return [
    {
      action_request: { action: "review_plan", args: { [listKey]: plan } },
      config: {
        allow_accept: true,
        allow_edit: true,
        allow_respond: revisionsLeft > 0,
        allow_ignore: false,
      },
      description,
    },
  ];
}

/** A `HumanResponse` (Agent Inbox) as our answer, or undefined when `value` is not one. */
function fromHumanResponse(value: unknown, listKey: string): unknown {
  const response: unknown = Array.isArray(value) && value.length === 1 ? value[0] : value;
  if (typeof response !== "object" || response === null) return undefined;
  const { type, args } = response as { type?: unknown; args?: unknown };
  if (!("args" in response) || typeof type !== "string") return undefined;
  if (type === "accept") return { action: "approve" };
  if (type === "response") return { action: "feedback", feedback: args };
  if (type === "edit") {
    // `args` is the edited action request: its own `args` hold the list, as JSON text from a form.
    const edited = (args as { args?: Record<string, unknown> } | null)?.args?.[listKey];
    if (typeof edited !== "string") return { action: "edit", [listKey]: edited };
    try {
      return { action: "edit", [listKey]: JSON.parse(edited) as unknown };
    } catch {
      return { action: "edit", [listKey]: edited };
    }
  }
  return { action: type };
}

/**
 * Reads a resume value: the three documented forms, their shorthands (`"approve"` or `true`, an
 * array of sections, a feedback string), or an Agent Inbox `HumanResponse` (accept, edit of the
 * action's arguments, response; alone or in a list of one). Returns what was decided, or why the value cannot be used.
 */
export function parsePlanReview(
  value: unknown,
  listKey = "sections",
): { review: PlanReview; error?: undefined } | { review?: undefined; error: string } {
  // An Agent Inbox answer is read as one of ours; otherwise the shorthands.
  const inbox = fromHumanResponse(value, listKey);
  let candidate = inbox ?? value;
  if (inbox !== undefined) {
    // Read as it is.
  } else if (
    value === true ||
    (typeof value === "string" && value.trim().toLowerCase() === "approve")
  ) {
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
