import { z } from "zod";
import { registry, type UpdateType } from "@langchain/langgraph/zod";
import {
  CompletedSectionSchema,
  FailedSectionSchema,
  InputSectionSchema,
  SectionSchema,
  type CompletedSection,
  type FailedSection,
} from "../schemas/section.js";

// Plain zod objects rather than `StateSchema`: the LangGraph dev server (and so Studio) reads
// state, input, output *and* configuration schemas from zod graphs, but skips the configuration
// schema of `StateSchema` graphs.

const topic = z.string().describe("What the report is about, in a sentence or a question.");
const sections = z
  .array(InputSectionSchema)
  .optional()
  .describe(
    "Optional ready-made plan: when given, the planner model is skipped and these sections are written as given.",
  );
// Defaults come from the registry: a zod `.default()` does not seed a channel nobody wrote yet.
const plan = z
  .array(SectionSchema)
  .describe("The planned sections, in reading order, each with its stable id.")
  .register(registry, { default: () => [] });
const report = z.string().default("").describe("The assembled Markdown report.");
const planTopic = z
  .string()
  .describe(
    "The topic the current plan was made for; a run on the same thread and topic keeps the plan and its finished sections.",
  )
  .register(registry, { default: () => "" });

/** Appends; the synthesizer reads entries by section id, so arrival order never matters. */
function append<T>(current: T[], update: T[]): T[] {
  return current.concat(update);
}

const completedSections = z
  .array(CompletedSectionSchema)
  .describe("Sections written so far; each worker appends its own.")
  .register(registry, {
    reducer: { schema: z.array(CompletedSectionSchema), fn: append<CompletedSection> },
    default: () => [],
  });

const failedSections = z
  .array(FailedSectionSchema)
  .describe("Sections whose worker failed after its retries; the report marks them as missing.")
  .register(registry, {
    reducer: { schema: z.array(FailedSectionSchema), fn: append<FailedSection> },
    default: () => [],
  });

const warnings = z
  .array(z.string())
  .describe(
    "Things the run did differently from what was asked (for example a plan cut to maxSections).",
  )
  .register(registry, {
    reducer: { schema: z.array(z.string()), fn: append<string> },
    default: () => [],
  });

/** The graph's full state. */
export const ReportState = z.object({
  topic,
  sections,
  plan,
  planTopic,
  completedSections,
  failedSections,
  warnings,
  report,
});

/** What a caller passes in: a topic, and optionally a ready-made plan. */
export const ReportInput = z.object({ topic, sections });

/** What a run returns. */
export const ReportOutput = z.object({
  report,
  plan,
  completedSections,
  failedSections,
  warnings,
});

/** What each worker receives through its `Send`: the topic and its own section, nothing more. */
export const WorkerInput = z.object({
  topic,
  section: SectionSchema.describe("The one section this worker writes."),
});

export type ReportStateType = z.output<typeof ReportState>;
export type ReportUpdate = UpdateType<typeof ReportState>;
export type ReportInputType = z.input<typeof ReportInput>;
export type ReportOutputType = z.output<typeof ReportOutput>;
export type WorkerInputType = z.output<typeof WorkerInput>;
