import { z } from "zod";
import { registry, type ReducedZodChannel, type UpdateType } from "@langchain/langgraph/zod";
import { CitationSummarySchema } from "./citations.js";
import { PlanStateSchema } from "./plan.js";
import {
  CompletedSectionSchema,
  FailedSectionSchema,
  InputSectionSchema,
  SectionSchema,
} from "./section.js";
import { ModelCallSchema, UsageLedgerSchema } from "./usage.js";

// Plain zod objects rather than `StateSchema`: the LangGraph dev server (and so Studio) reads
// state, input, output *and* configuration schemas from zod graphs, but skips the configuration
// schema of `StateSchema` graphs. LangGraph validates the whole state on every update, so every
// key costs every section time: the state holds data only, and what can be derived (the usage
// ledger from the calls, whether a budget is spent) is computed where it is needed.

const topic = z.string().describe("What the report is about, in a sentence or a question.");
const sections = z
  .array(InputSectionSchema)
  .optional()
  .describe(
    "Optional ready-made plan: when given, the planner model is skipped and these sections are written as given.",
  );
const plan = PlanStateSchema.optional().describe(
  "The plan: its sections in reading order, and where it stands (status, round, revisions).",
);
const report = z.string().default("").describe("The assembled Markdown report.");
const citations = CitationSummarySchema.optional().describe(
  "The run's citations in all: cited, checked and supported (the accuracy), removed, consulted (set by the synthesizer).",
);
const usage = UsageLedgerSchema.optional().describe(
  "Token usage of the run, per section and in total, with the estimated cost (set by the synthesizer).",
);

/**
 * A list that nodes append to (a reducer-backed key): each update's items are added at the end. The
 * synthesizer reads sections by id, so the order in which workers finish never matters.
 */
function appendedList<T extends z.ZodType>(
  item: T,
  description: string,
): ReducedZodChannel<z.ZodArray<T>, z.ZodArray<T>> {
  // `register` types its result as a reduced channel only for a concrete schema, not a generic one;
  // that marker is type-only, and the registration itself is what LangGraph reads at run time.
  return z
    .array(item)
    .describe(description)
    .register(registry, {
      reducer: {
        schema: z.array(item),
        fn: (current: z.output<T>[], update: z.output<T>[]) => current.concat(update),
      },
      default: () => [],
    }) as unknown as ReducedZodChannel<z.ZodArray<T>, z.ZodArray<T>>;
}

const completedSections = appendedList(
  CompletedSectionSchema,
  "Sections written so far; each worker appends its own.",
);
const failedSections = appendedList(
  FailedSectionSchema,
  "Sections whose worker failed after its retries; the report marks them as missing.",
);
const modelCalls = appendedList(
  ModelCallSchema,
  "Every model call of the current plan (tokens, model, who made it), appended by the node that made it; the usage ledger is computed from them.",
);
const warnings = appendedList(
  z.string(),
  "Things the run did differently from what was asked (for example a plan cut to maxSections).",
);

/** The graph's full state: ten keys, all data. */
export const ReportState = z.object({
  topic,
  sections,
  plan,
  completedSections,
  failedSections,
  modelCalls,
  warnings,
  report,
  usage,
  citations,
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
  usage,
  citations,
});

/** What each worker receives through its `Send`: the topic and its own section, nothing more. */
export const WorkerInput = z.object({
  topic,
  section: SectionSchema.describe("The one section this worker writes."),
  dependencies: z
    .array(
      z.object({
        id: z.string().describe("Id of the section depended on."),
        name: z.string().describe("Its name."),
        content: z.string().describe("Its text, as its worker wrote it."),
      }),
    )
    .optional()
    .describe("The sections this one builds on, already written."),
});

export type ReportStateType = z.output<typeof ReportState>;
export type ReportUpdate = UpdateType<typeof ReportState>;
export type ReportInputType = z.input<typeof ReportInput>;
export type ReportOutputType = z.output<typeof ReportOutput>;
export type WorkerInputType = z.output<typeof WorkerInput>;
