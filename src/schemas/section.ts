import { z } from "zod";

/** A section as the planner proposes it: what it is called and what it covers. */
export const PlannedSectionSchema = z.object({
  name: z.string().describe("Short heading for the section, as it will appear in the report."),
  description: z
    .string()
    .describe(
      "What the section covers: its scope, key points and what to leave to other sections.",
    ),
});

/** A section of the plan, keyed by a stable id so that order never depends on names or arrival. */
export const SectionSchema = PlannedSectionSchema.extend({
  id: z
    .string()
    .min(1)
    .describe(
      "Stable id of the section within its plan (two sections may share a name, never an id).",
    ),
  role: z
    .string()
    .optional()
    .describe("The specialist role that writes the section, from the configured roster."),
  dependsOn: z
    .array(z.string())
    .optional()
    .describe("Ids of the sections whose text this one builds on; it is written after them."),
  round: z
    .number()
    .int()
    .optional()
    .describe("The planning round that added the section, when later than the first."),
});

/** A section given in the input as a ready-made plan; the id is assigned when it is missing. */
export const InputSectionSchema = PlannedSectionSchema.extend({
  id: z
    .string()
    .min(1)
    .optional()
    .describe("Optional id for the section; assigned from its position in the plan when omitted."),
  role: z
    .string()
    .optional()
    .describe("Optional specialist role for the section, one of the roster's names."),
  dependsOn: z
    .array(z.string())
    .optional()
    .describe(
      "Optional ids of the sections this one builds on (written first, their text given to it).",
    ),
});

/** A source a tool returned: what a report cites. */
export const SourceSchema = z.object({
  key: z
    .string()
    .describe("The source's citation key, as the writer cites it inline in square brackets."),
  title: z.string().describe("What the source is called: a file path or an article title."),
  location: z.string().describe("Where in the source: a line range, or the article's URL."),
  tool: z.string().optional().describe("The tool that returned it."),
  arguments: z
    .string()
    .optional()
    .describe("The tool call's arguments, as JSON (for results that are not passages)."),
  excerpt: z.string().optional().describe("The start of what the tool returned."),
});

/** The verifier's verdict on one cited sentence (verifyCitations: llm). */
export const CitationCheckResultSchema = z.object({
  sentence: z.string().describe("The sentence, as the section has it."),
  key: z.string().describe("The key of the source it cites."),
  supported: z.boolean().describe("Whether the cited passage supports the sentence."),
  reason: z.string().describe("The verifier's one-line reason."),
});

/** What checking a section's citations found. */
export const SectionCitationsSchema = z.object({
  cited: z.number().int().describe("Cited sentences (one per sentence and source it cites)."),
  supported: z
    .number()
    .int()
    .optional()
    .describe("Of those, the ones the verifier found supported (verifyCitations: llm)."),
  checked: z
    .number()
    .int()
    .optional()
    .describe("Of those, the ones the verifier gave a verdict for (verifyCitations: llm)."),
  checks: z
    .array(CitationCheckResultSchema)
    .optional()
    .describe("The verifier's verdicts, in reading order (verifyCitations: llm)."),
  fabricated: z
    .array(z.string())
    .optional()
    .describe("Citations that named nothing a tool returned to the writer, removed from the text."),
});

/** The section reviewer's answer (sectionReview): a grade, feedback, and what to look up. */
export const SectionReviewAnswerSchema = z.object({
  pass: z.boolean().describe("True when the section does what its description asks, well."),
  // Defaults, so that a model that leaves a field out (local models often do) still gives a review.
  feedback: z
    .string()
    .default("")
    .describe("What the writer should change, concretely; empty when the section passes."),
  followUpQueries: z
    .array(z.string())
    .default([])
    .describe("Up to three searches that would help the revision; empty when none would."),
});

/** How a section fared in review. */
export const SectionReviewSchema = z.object({
  passed: z.boolean().describe("Whether the reviewer passed the section's last version."),
  revisions: z.number().int().describe("Times the section was revised after a failed review."),
  feedback: z
    .string()
    .optional()
    .describe("The reviewer's last feedback, when the kept version did not pass."),
  error: z.string().optional().describe("Why the review could not be finished, when it failed."),
});

/** What a worker contributes to the shared `completedSections` key. */
export const CompletedSectionSchema = z.object({
  id: z.string().describe("Id of the planned section this text was written for."),
  name: z.string().describe("Name of the section, copied from the plan."),
  content: z.string().describe("The section's Markdown body, without its heading."),
  model: z.string().describe("Name of the chat model that wrote the section."),
  sources: z
    .array(SourceSchema)
    .optional()
    .describe("Sources the worker's tools returned that the section cites."),
  consulted: z
    .array(SourceSchema)
    .optional()
    .describe("Sources the worker's tools returned that the section does not cite."),
  citations: SectionCitationsSchema.optional().describe(
    "What checking the section's citations found (workers with tools).",
  ),
  warnings: z
    .array(z.string())
    .optional()
    .describe("What went wrong in the section's writing that the text does not show."),
  review: SectionReviewSchema.optional().describe(
    "How the section fared in review (sectionReview).",
  ),
  steps: z
    .number()
    .optional()
    .describe("Model calls the worker made for this section (tool-using workers)."),
  hitStepLimit: z
    .boolean()
    .optional()
    .describe("True when the worker reached maxWorkerSteps and had to write from what it had."),
});

/** A section whose worker failed after its model client's retries; the run goes on without it. */
export const FailedSectionSchema = z.object({
  id: z.string().describe("Id of the planned section that could not be written."),
  name: z.string().describe("Name of the section, copied from the plan."),
  error: z.string().describe("Why writing the section failed (the last error's message)."),
});

export type PlannedSection = z.infer<typeof PlannedSectionSchema>;
export type Section = z.infer<typeof SectionSchema>;
export type InputSection = z.infer<typeof InputSectionSchema>;
export type CompletedSection = z.infer<typeof CompletedSectionSchema>;
export type FailedSection = z.infer<typeof FailedSectionSchema>;
export type Source = z.infer<typeof SourceSchema>;
export type CitationCheckResult = z.infer<typeof CitationCheckResultSchema>;
export type SectionCitations = z.infer<typeof SectionCitationsSchema>;
export type SectionReviewAnswer = z.infer<typeof SectionReviewAnswerSchema>;
export type SectionReview = z.infer<typeof SectionReviewSchema>;
