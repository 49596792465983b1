import { z } from "zod";
import { ReducedValue, StateSchema } from "@langchain/langgraph";
import {
  CompletedSectionSchema,
  InputSectionSchema,
  SectionSchema,
  type CompletedSection,
} from "../schemas/section.js";

const topic = z.string().describe("What the report is about, in a sentence or a question.");
const sections = z
  .array(InputSectionSchema)
  .optional()
  .describe(
    "Optional ready-made plan: when given, the planner model is skipped and these sections are written as given.",
  );
const plan = z
  .array(SectionSchema)
  .default(() => [])
  .describe("The planned sections, in reading order, each with its stable id.");
const report = z.string().default("").describe("The assembled Markdown report.");

/** Appends; the synthesizer reads entries by section id, so arrival order never matters. */
function append<T>(current: T[], update: T[]): T[] {
  return current.concat(update);
}

const completedSections = new ReducedValue(
  z
    .array(CompletedSectionSchema)
    .default(() => [])
    .describe("Sections written so far, in the order they finished; each worker appends its own."),
  { inputSchema: z.array(CompletedSectionSchema), reducer: append<CompletedSection> },
);

const warnings = new ReducedValue(
  z
    .array(z.string())
    .default(() => [])
    .describe(
      "Things the run did differently from what was asked (for example a plan cut to maxSections).",
    ),
  { inputSchema: z.array(z.string()), reducer: append<string> },
);

/** The graph's full state. */
export const ReportState = new StateSchema({
  topic,
  sections,
  plan,
  completedSections,
  warnings,
  report,
});

/** What a caller passes in: a topic, and optionally a ready-made plan. */
export const ReportInput = new StateSchema({ topic, sections });

/** What a run returns. */
export const ReportOutput = new StateSchema({ report, plan, completedSections, warnings });

/** What each worker receives through its `Send`: the topic and its own section, nothing more. */
export const WorkerInput = new StateSchema({
  topic,
  section: SectionSchema.describe("The one section this worker writes."),
});

export type ReportStateType = typeof ReportState.State;
export type ReportUpdate = typeof ReportState.Update;
export type ReportInputType = typeof ReportInput.Update;
export type ReportOutputType = typeof ReportOutput.State;
export type WorkerInputType = typeof WorkerInput.State;
