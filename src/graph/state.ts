import { z } from "zod";
import { registry, type ReducedZodChannel, type UpdateType } from "@langchain/langgraph/zod";
import {
  CompletedSectionSchema,
  FailedSectionSchema,
  InputSectionSchema,
  SectionSchema,
} from "../schemas/section.js";
import { ModelUsageSchema, UsageLedgerSchema } from "../schemas/usage.js";

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

const plannerUsage = ModelUsageSchema.describe(
  "Tokens of the planner's calls for the current plan, revisions included.",
).register(registry, { default: () => ({ model: "", input: 0, output: 0, total: 0 }) });
const usage = UsageLedgerSchema.optional().describe(
  "Token usage of the run, per section and in total, with the estimated cost (set by the synthesizer).",
);

const planningRound = z
  .number()
  .describe("The planning round the run is in (1 for the first plan).")
  .register(registry, { default: () => 0 });
const replanRequested = z
  .boolean()
  .describe("Set by dispatch when a round is written and another planning round may add sections.")
  .register(registry, { default: () => false });

const budgetExhausted = z
  .boolean()
  .describe("Whether the run stopped starting sections because its token budget was spent.")
  .register(registry, { default: () => false });

const planApproved = z
  .boolean()
  .describe("Whether the current plan may be written: approved by a reviewer, or not under review.")
  .register(registry, { default: () => false });
const planFeedback = z
  .string()
  .describe("A reviewer's feedback that the next planning must address (empty when there is none).")
  .register(registry, { default: () => "" });
const planRevisions = z
  .number()
  .describe("How many times a reviewer has sent the plan back with feedback in this run.")
  .register(registry, { default: () => 0 });

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
const warnings = appendedList(
  z.string(),
  "Things the run did differently from what was asked (for example a plan cut to maxSections).",
);

/** The graph's full state. */
export const ReportState = z.object({
  topic,
  sections,
  plan,
  planTopic,
  planApproved,
  planFeedback,
  planRevisions,
  plannerUsage,
  usage,
  budgetExhausted,
  planningRound,
  replanRequested,
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
  usage,
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
