import { z } from "zod";
import { PlannedSectionSchema } from "./section.js";

/**
 * What the planner model must return through structured output.
 *
 * Bounds (at least one section, at most `maxSections`) are enforced in code rather than in the
 * schema, so an over-long plan can be cut with a warning instead of being rejected, and the schema
 * stays valid for providers' strict JSON-schema modes.
 */
export const PlanSchema = z
  .object({
    sections: z
      .array(PlannedSectionSchema)
      .describe("The report's sections, in the order they should appear."),
  })
  .describe("A plan for a report: its sections in reading order.");

export type Plan = z.infer<typeof PlanSchema>;

/**
 * The planner's schema: `PlanSchema` plus, per section, `dependsOn` (ids of the sections it builds
 * on) and, with several roles on the roster, `role` (an enum the provider's structured output
 * enforces).
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
