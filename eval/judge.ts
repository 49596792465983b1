/**
 * The LLM judge: a model of its own grades a report on a rubric (factual accuracy against the
 * sources, citation accuracy, completeness, source quality, tool efficiency), each 0 to 1 with a
 * one-line reason, through the project's one structured-output call (schema name `judge`).
 */
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { HumanMessage, SystemMessage } from "@langchain/core/messages";
import { z } from "zod";
import { askStructured } from "../src/models/structured-output.js";
import type { StructuredOutputStrategy } from "../src/schemas/configuration.js";
import { addUsage, type Usage } from "../src/schemas/usage.js";
import type { EvalCase } from "./dataset.js";
import type { RunView } from "./run-view.js";

/** The rubric's criteria, in the order tables show them. */
export const JUDGE_CRITERIA = [
  "factualAccuracy",
  "citationAccuracy",
  "completeness",
  "sourceQuality",
  "toolEfficiency",
] as const;
export type JudgeCriterion = (typeof JUDGE_CRITERIA)[number];

const ScoreSchema = z.object({
  score: z.number().min(0).max(1).describe("0 (fails the criterion) to 1 (fully meets it)."),
  reason: z.string().describe("One line: why this score."),
});

/** What the judge answers: a score and a reason per criterion. */
export const JudgeSchema = z.object({
  factualAccuracy: ScoreSchema.describe(
    "Are the report's claims true according to the sources (and the reference notes)?",
  ),
  citationAccuracy: ScoreSchema.describe(
    "Does each cited source support the sentence that cites it, and are claims from the sources cited?",
  ),
  completeness: ScoreSchema.describe(
    "Does the report cover the topic, the planned sections and the required facts?",
  ),
  sourceQuality: ScoreSchema.describe(
    "Did the writers use the most relevant passages available, rather than weak or off-topic ones?",
  ),
  toolEfficiency: ScoreSchema.describe(
    "Were the searches and model calls proportionate: enough to find what was needed, without waste?",
  ),
});

export type JudgeScores = z.output<typeof JudgeSchema>;

/** The judge's system prompt: the rubric. */
export const JUDGE_SYSTEM_PROMPT = `You grade research reports written by a team of writer models.
Score each criterion from 0 to 1 (use the whole range; 1 only when nothing could be better) and
give a one-line reason that names what you saw. Judge only from what you are given: the sources
are the ground truth for factual accuracy; a claim the sources do not support is an error even if
you believe it. When no sources were given, judge factual accuracy against the reference notes and
what is well established, and score source quality and citation accuracy on whether the report
avoided inventing sources.`;

/** Most characters of source text the judge reads; the rest is cut with a note. */
export const MAX_SOURCE_CHARACTERS = 24_000;

const TEXT_FILE = /\.(md|markdown|mdx|txt|text|rst)$/i;

/** The source files of a case's folder, as the judge reads them: path and text, bounded. */
export async function readSourceTexts(
  directory: string,
  maxCharacters = MAX_SOURCE_CHARACTERS,
): Promise<string> {
  const files = (await listFiles(directory)).filter((file) => TEXT_FILE.test(file)).sort();
  const parts: string[] = [];
  let left = maxCharacters;
  for (const file of files) {
    const text = (await readFile(file, "utf8")).trim();
    const path = relative(directory, file);
    if (text.length > left) {
      parts.push(
        `<Source path="${path}">\n${text.slice(0, Math.max(left, 0))}\n[... cut: the judge reads at most ${maxCharacters} characters of sources]\n</Source>`,
      );
      break;
    }
    parts.push(`<Source path="${path}">\n${text}\n</Source>`);
    left -= text.length;
  }
  return parts.join("\n\n");
}

async function listFiles(directory: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) found.push(...(await listFiles(path)));
    else if (entry.isFile()) found.push(path);
  }
  return found;
}

/** The judge's user message: the case, the report, what the run did, and the sources. */
export function judgeUserPrompt(options: {
  evalCase: EvalCase;
  run: RunView;
  sourceTexts?: string;
}): string {
  const { evalCase, run, sourceTexts } = options;
  const sections = run.completedSections
    .map((section) => {
      const cited = section.sources?.length ?? 0;
      const consulted = section.consulted?.length ?? 0;
      const steps = section.steps === undefined ? "" : `, ${section.steps} model calls`;
      const limit = section.hitStepLimit ? ", stopped at the step limit" : "";
      return `- ${section.name}: ${cited} sources cited, ${consulted} more consulted${steps}${limit}`;
    })
    .concat(run.failedSections.map((section) => `- ${section.name}: FAILED (${section.error})`))
    .join("\n");
  const blocks = [
    `<Report topic>\n${evalCase.topic}\n</Report topic>`,
    `<Report>\n${run.report}\n</Report>`,
    `<How it was written>\n${sections || "(no sections)"}\n</How it was written>`,
  ];
  if (evalCase.referenceNotes) {
    blocks.push(`<Reference notes>\n${evalCase.referenceNotes}\n</Reference notes>`);
  }
  if (evalCase.requiredFacts?.length) {
    blocks.push(
      `<Required facts>\n${evalCase.requiredFacts.map((fact) => `- ${fact}`).join("\n")}\n</Required facts>`,
    );
  }
  blocks.push(
    sourceTexts
      ? `<Sources>\n${sourceTexts}\n</Sources>`
      : "<Sources>\n(none: the writers had no source library)\n</Sources>",
  );
  blocks.push(
    "<Task>\nGrade the report on each criterion of the schema: a score from 0 to 1 and a one-line reason.\n</Task>",
  );
  return blocks.join("\n\n");
}

/** A judge's verdict on one report. */
export type JudgeVerdict =
  | { scores: JudgeScores; model: string; usage: Usage; error?: undefined }
  | { scores?: undefined; model: string; usage: Usage; error: string };

/**
 * Asks the judge model for its scores (once more, asked differently, when the first answer was
 * unreadable because of how it was asked); an answer that stays unusable is a verdict with an
 * `error`, and a transport failure after the client's retries is thrown.
 */
export async function judgeReport(options: {
  model: BaseChatModel;
  evalCase: EvalCase;
  run: RunView;
  sourceTexts?: string;
  strategy?: StructuredOutputStrategy;
}): Promise<JudgeVerdict> {
  const ask = () =>
    askStructured({
      model: options.model,
      schema: JudgeSchema,
      name: "judge",
      messages: [
        new SystemMessage(JUDGE_SYSTEM_PROMPT),
        new HumanMessage(judgeUserPrompt(options)),
      ],
      callOptions: { tags: ["judge"] },
      strategy: options.strategy,
    });
  const first = await ask();
  const answer = first.askAgain ? await ask() : first;
  const usage = answer === first ? first.usage : addUsage(first.usage, answer.usage);
  if (answer.problem !== undefined) {
    return {
      model: answer.model,
      usage,
      error: `The judge's answer is not a valid verdict (${answer.problem}).`,
    };
  }
  return { scores: answer.value, model: answer.model, usage };
}
