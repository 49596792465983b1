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
 * The plan schema for a roster of roles: with several roles, each section must name one of them
 * (an enum the provider's structured output enforces); with one, the schema is `PlanSchema`.
 */
export function planSchemaFor(roleNames: string[]) {
  if (roleNames.length < 2) return PlanSchema;
  const [first, ...rest] = roleNames as [string, ...string[]];
  return z
    .object({
      sections: z
        .array(
          PlannedSectionSchema.extend({
            role: z
              .enum([first, ...rest])
              .describe("The specialist who writes the section: one of the roster's names."),
          }),
        )
        .describe("The report's sections, in the order they should appear."),
    })
    .describe("A plan for a report: its sections in reading order, each with its writer's role.");
}
