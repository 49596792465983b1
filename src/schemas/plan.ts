import { z } from "zod";
import { PlannedSectionSchema, SectionSchema } from "./section.js";
import { PLAN_SOURCES } from "./shape.js";

/**
 * What the planner model must return through structured output: its sections in reading order,
 * each with `dependsOn` (ids of the sections it builds on) and, with several roles on the roster,
 * `role` (an enum the provider's structured output enforces).
 *
 * Bounds (at least one section, at most `maxSections`) are enforced in code rather than in the
 * schema, so an over-long plan can be cut with a warning instead of being rejected, and the schema
 * stays valid for providers' strict JSON-schema modes.
 */
export function planSchemaFor(roleNames: string[]) {
  const dependsOn = z
    .array(z.string())
    .default([])
    .describe(
      "Ids of the sections whose text this one builds on (s1 for the first listed, s2 for the second, ...); empty when it stands alone.",
    );
  const [first, ...rest] = roleNames as [string, ...string[]];
  const section =
    roleNames.length < 2
      ? PlannedSectionSchema.extend({ dependsOn })
      : PlannedSectionSchema.extend({
          role: z
            .enum([first, ...rest])
            .describe("The specialist who writes the section: one of the roster's names."),
          dependsOn,
        });
  return z
    .object({
      sections: z
        .array(section)
        .describe("The report's sections, in the order they should appear."),
    })
    .describe("A plan for a report: its sections in reading order.");
}

/** The planner's answer with the default roster (no roles to choose from). */
export const PlanSchema = planSchemaFor([]);

export type Plan = z.infer<typeof PlanSchema>;

/**
 * Where a plan stands:
 * - `review`: made, waiting for a person to approve, edit or send it back (`reviewPlan`);
 * - `revise`: sent back with `feedback`; the orchestrator plans again;
 * - `approved`: ready to be announced and written;
 * - `writing`: its sections are being written, wave by wave;
 * - `complete`: a later planning round found nothing to add; what is left is assembling.
 */
export const PLAN_STATUSES = ["review", "revise", "approved", "writing", "complete"] as const;
export type PlanStatus = (typeof PLAN_STATUSES)[number];

/** The run's plan, as the graph state keeps it: the sections and where the plan stands. */
export const PlanStateSchema = z.object({
  topic: z
    .string()
    .describe(
      "The topic the plan was made for; a run on the same thread and topic keeps the plan and its finished sections.",
    ),
  sections: z
    .array(SectionSchema)
    .describe("The planned sections, in reading order, each with its stable id."),
  status: z.enum(PLAN_STATUSES).describe("Where the plan stands (see PLAN_STATUSES)."),
  source: z
    .enum(PLAN_SOURCES)
    .describe(
      "Where the plan's latest change came from: the planner model, the input, the thread's stored plan, a reviewer's edit, or a later planning round.",
    ),
  round: z.number().int().describe("The planning round (1 for the first plan)."),
  revisions: z
    .number()
    .int()
    .describe("How many times a reviewer has sent the plan back with feedback."),
  feedback: z
    .string()
    .optional()
    .describe("The reviewer's feedback that the next planning must address (status revise)."),
  messageId: z
    .string()
    .optional()
    .describe(
      "Id of the human message in messages the plan answers, when the request came from (or was recorded as) one.",
    ),
});

export type PlanState = z.infer<typeof PlanStateSchema>;
