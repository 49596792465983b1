import { z } from "zod";
import type { UpdateType } from "@langchain/langgraph/zod";
import { CitationSummarySchema } from "./citations.js";
import { PlanStateSchema } from "./plan.js";
import { validateInput, withIds } from "./input.js";
import {
  CompletedSectionSchema,
  FailedSectionSchema,
  InputSectionSchema,
  SectionSchema,
  type CompletedSection,
  type InputSection,
} from "./section.js";
import type { CoreSubtask, StateShape } from "./shape.js";
import { MESSAGES_DESCRIPTION, messagesKey } from "./messages.js";
import { appendedList } from "./subtasks.js";
import { ModelCallSchema, UsageLedgerSchema } from "./usage.js";

// Plain zod objects rather than `StateSchema`: the LangGraph dev server (and so Studio) reads
// state, input, output *and* configuration schemas from zod graphs, but skips the configuration
// schema of `StateSchema` graphs. LangGraph validates the whole state on every update, so every
// key costs every section time: the state holds data only, and what can be derived (the usage
// ledger from the calls, whether a budget is spent) is computed where it is needed.

const topic = z
  .string()
  .optional()
  .describe(
    "What the report is about, in a sentence or a question; or leave it out and send a human message in messages.",
  );
const sections = z
  .array(InputSectionSchema)
  .nullish()
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
const messages = messagesKey(MESSAGES_DESCRIPTION);

/** The graph's full state: eleven keys, all data. */
export const ReportState = z.object({
  messages,
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

/** What a caller passes in: a topic or a human message, and optionally a ready-made plan. */
export const ReportInput = z.object({ messages, topic, sections });

/** What a run returns. */
export const ReportOutput = z.object({
  messages,
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
  topic: z.string().describe("What the report is about."),
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

/** A report's sections checked as a plan's: named, described, with ids (see `withIds`). */
export function sectionsWithIds(items: unknown[], field: string): CoreSubtask[] {
  return withIds(items as InputSection[], field);
}

/**
 * The report graph's shape for the core nodes: its own key names (a topic, sections, completed and
 * failed sections, a report), its input checks, and its entries: a completed section is the
 * worker's record as it is, a dependent section gets the name and text of what it builds on.
 */
export const REPORT_SHAPE: StateShape = {
  keys: {
    request: "topic",
    subtasks: "sections",
    subtask: "section",
    results: "completedSections",
    failed: "failedSections",
    output: "report",
  },
  noun: "section",
  validateInput({ request, subtasks }) {
    const input = validateInput({ topic: request, sections: subtasks });
    return {
      request: input.topic,
      ...(input.sections ? { subtasks: input.sections } : {}),
    };
  },
  withIds: sectionsWithIds,
  samePlan: (given, current) =>
    given.length === current.length &&
    given.every(
      (section, index) =>
        section.id === current[index]!.id &&
        section.name === current[index]!.name &&
        section.description === current[index]!.description,
    ),
  label: (section) => section.name as string,
  resultEntry: (_section, result) => result as CompletedSection,
  failedEntry: (section, error) => ({ id: section.id, name: section.name as string, error }),
  dependency: (entry) => {
    const { id, name, content } = entry as CompletedSection;
    return { id, name, content };
  },
};
