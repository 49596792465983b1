import { isGraphBubbleUp, type LangGraphRunnableConfig } from "@langchain/langgraph";
import { HumanMessage, SystemMessage } from "@langchain/core/messages";
import { RunnableLambda } from "@langchain/core/runnables";
import { z } from "zod";
import { shortMessage } from "../errors.js";
import type { ChatModelProvider } from "../models/chat-models.js";
import { OFFLINE_MODEL_NAME, OFFLINE_NOTICE } from "../models/offline-chat-model.js";
import { askStructuredValue } from "../models/structured-output.js";
import { runConfiguration, type Configuration } from "../schemas/configuration.js";
import { aggregatorUserPrompt } from "../schemas/prompts.js";
import { citationSummary } from "../schemas/citations.js";
import type { CompletedSection, FailedSection, Source } from "../schemas/section.js";
import { confinedToSection } from "../schemas/section-markdown.js";
import type { ReportStateType, ReportUpdate } from "../schemas/state.js";
import { tokensUsed, usageFooter, usageLedger, type ModelCall } from "../schemas/usage.js";

const FramingSchema = z.object({
  introduction: z.string().describe("A short introduction: what the report covers and why."),
  transitions: z
    .array(
      z.object({
        beforeSectionId: z.string().describe("Id of the section the transition leads into."),
        text: z.string().describe("One or two sentences bridging from the previous section."),
      }),
    )
    .describe("Transitions, only where the move between two sections needs one."),
  conclusion: z.string().describe("A conclusion that draws the sections together."),
});

const AnswerSchema = z.object({
  answer: z.string().describe("The combined answer, in Markdown."),
});

/**
 * Creates the synthesizer node, which assembles the report:
 * 1. indexes completed sections by id (a later entry for the same id wins);
 * 2. walks the plan in order, never the arrival order or the names, writing a `## <name>` heading
 *    and the section's body, or a visible marker (with the reason) where a section is missing;
 * 3. puts the topic as the title, and labels a report written by the offline model;
 * 4. numbers the sources the sections cite (`[key]` becomes `[n]`, in reading order, one number per
 *    source across sections) and ends with a References list;
 * 5. with `synthesis: "llm"`, has the aggregator model write an introduction, transitions and a
 *    conclusion around the sections (kept as written), or one combined answer; it reads summaries
 *    instead of the sections when they exceed `aggregatorTokenBudget`;
 * 6. sums the token usage of the run from its recorded calls, prices it, and ends the report with
 *    a line that says so; the ledger goes to the `usage` key, and into the trace as the metadata
 *    of the child run (`assemble`) that puts the report together.
 */
export function createSynthesizerNode(dependencies: {
  models: ChatModelProvider;
  /** Removes every configured secret from a text before it is stored or shown. */
  redact?: (text: string) => string;
}) {
  return async function synthesizer(
    given: ReportStateType,
    config: LangGraphRunnableConfig,
  ): Promise<ReportUpdate> {
    // The orchestrator always sets the topic (from the input or the chat) before any section.
    const state = { ...given, topic: given.topic ?? given.plan?.topic ?? "" };
    const configuration = runConfiguration(config);
    // Whether the budget stopped the run is read before the aggregator's own call adds to it.
    const budgetSpent =
      configuration.maxTotalTokens !== undefined &&
      tokensUsed(state.modelCalls) >= configuration.maxTotalTokens;
    let framing: Framing | undefined;
    const modelCalls: ModelCall[] = [];
    const warnings: string[] = [];
    if (configuration.synthesis === "llm" && state.completedSections.length > 0) {
      try {
        framing = await frame(dependencies.models, configuration, state, modelCalls);
      } catch (error) {
        // The sections are written and paid for: the aggregator's failure never costs them.
        if (isGraphBubbleUp(error) || config.signal?.aborted) throw error;
        warnings.push(
          `The aggregator failed (${shortMessage(error, { redact: dependencies.redact })}); the report joins the sections as written instead.`,
        );
      }
    }
    const usage = usageLedger([...state.modelCalls, ...modelCalls], configuration.prices);
    const metadata = {
      total_tokens: usage.total.total,
      input_tokens: usage.total.input,
      output_tokens: usage.total.output,
      estimated_cost_usd: usage.estimatedCostUsd,
    };
    const report = await RunnableLambda.from(() => {
      const body =
        framing?.answer !== undefined
          ? assembleAnswer(state, framing.answer)
          : assembleReport({ ...state, plan: state.plan?.sections ?? [], budgetSpent }, framing);
      return `${body}\n---\n\n${usageFooter(usage)}\n`;
    })
      .withConfig({ runName: "assemble", metadata })
      .invoke(undefined, config);
    // The same sections the report counts: one per planned id, the later entry winning.
    const written = writtenInPlanOrder(state.plan?.sections ?? [], state.completedSections);
    const citations = written.some((section) => section.citations)
      ? citationSummary(written)
      : undefined;
    return { report, usage, modelCalls, warnings, ...(citations ? { citations } : {}) };
  };
}

/**
 * The written sections in plan order, one per planned id (a later entry for the same id wins);
 * never arrival order, never names.
 */
function writtenInPlanOrder(
  plan: readonly { id: string }[],
  completedSections: readonly CompletedSection[],
): CompletedSection[] {
  const byId = new Map(completedSections.map((section) => [section.id, section]));
  return plan.flatMap((section) => byId.get(section.id) ?? []);
}

/** What the aggregator wrote: a frame around the sections, or one answer. */
interface Framing {
  introduction?: string;
  transitions?: { beforeSectionId: string; text: string }[];
  conclusion?: string;
  answer?: string;
}

/** The aggregator's framing; its calls (paid even when unusable) are added to `calls`. */
async function frame(
  models: ChatModelProvider,
  configuration: Configuration,
  state: ReportStateType & { topic: string },
  calls: ModelCall[],
): Promise<Framing> {
  const byId = new Map(state.completedSections.map((section) => [section.id, section]));
  const written = (state.plan?.sections ?? []).flatMap((section) => {
    const completed = byId.get(section.id);
    return completed ? [{ id: section.id, name: section.name, text: completed.content }] : [];
  });
  // Too much to read at once: work from each section's opening instead of failing.
  const summarized =
    written.reduce((total, section) => total + section.text.length, 0) / 4 >
    configuration.aggregatorTokenBudget;
  const share = Math.max(
    200,
    Math.floor((configuration.aggregatorTokenBudget * 4) / Math.max(written.length, 1)),
  );
  const sections = summarized
    ? written.map((section) => ({ ...section, text: summaryOf(section.text, share) }))
    : written;
  const schema: z.ZodType<Framing> =
    configuration.synthesisOutput === "answer" ? AnswerSchema : FramingSchema;
  return askStructuredValue({
    model: models({ role: "aggregator", configuration }),
    schema,
    name: "synthesis",
    messages: [
      new SystemMessage(configuration.aggregatorPrompt),
      new HumanMessage(
        aggregatorUserPrompt({
          topic: state.topic,
          sections,
          summarized,
          output: configuration.synthesisOutput,
        }),
      ),
    ],
    callOptions: { tags: ["aggregator"] },
    strategy: configuration.structuredOutput,
    calls,
    record: { role: "aggregator" },
    what: "a valid synthesis",
    errorName: "SynthesisError",
  });
}

/** The opening of a section, cut at a sentence end near `characters`. */
function summaryOf(text: string, characters: number): string {
  if (text.length <= characters) return text;
  const cut = text.slice(0, characters);
  const end = Math.max(cut.lastIndexOf(". "), cut.lastIndexOf(".\n"));
  return `${end > characters / 2 ? cut.slice(0, end + 1) : cut}…`;
}

/** The report as one combined answer under the title. */
function assembleAnswer(
  state: Pick<ReportStateType, "completedSections"> & { topic: string },
  answer: string,
): string {
  const title = state.topic.trim().split("\n")[0] ?? state.topic;
  const parts = [`# ${title}`];
  if (state.completedSections.some((section) => section.model === OFFLINE_MODEL_NAME)) {
    parts.push(`> **Note:** ${OFFLINE_NOTICE}`);
  }
  parts.push(confinedToSection(answer.trim(), { headings: false }));
  return `${parts.join("\n\n")}\n`;
}

/** Assembles the Markdown report from the plan and the completed sections. */
export function assembleReport(
  state: {
    topic: string;
    plan: { id: string; name: string }[];
    completedSections: CompletedSection[];
    failedSections?: FailedSection[];
    /** Whether the run's token budget stopped it before every section was started. */
    budgetSpent?: boolean;
  },
  framing?: Framing,
): string {
  const byId = new Map(state.completedSections.map((section) => [section.id, section]));
  const failedById = new Map((state.failedSections ?? []).map((section) => [section.id, section]));
  const title = state.topic.trim().split("\n")[0] ?? state.topic;
  const parts = [`# ${title}`];
  if (state.completedSections.some((section) => section.model === OFFLINE_MODEL_NAME)) {
    parts.push(`> **Note:** ${OFFLINE_NOTICE}`);
  }
  if (framing?.introduction) parts.push(confinedToSection(framing.introduction.trim()));
  const transitions = new Map(
    (framing?.transitions ?? []).map((transition) => [transition.beforeSectionId, transition.text]),
  );
  // Citations: each source gets one number, in the order the report first cites it.
  const references = new Map<string, { number: number; source: Source }>();
  const unsupported: { label: string; key: string; reason: string }[] = [];
  for (const section of state.plan) {
    const completed = byId.get(section.id);
    const transition = transitions.get(section.id);
    if (transition) parts.push(confinedToSection(transition.trim()));
    parts.push(`## ${section.name}`);
    const failed = failedById.get(section.id);
    const content =
      completed === undefined
        ? undefined
        : numberCitations(
            confinedToSection(markUnsupported(completed, unsupported)),
            completed.sources ?? [],
            references,
          );
    parts.push(
      content ??
        (failed
          ? `_This section is missing: writing it failed (${failed.error})._`
          : state.budgetSpent
            ? `_This section was not written: the run's token budget (maxTotalTokens) was spent._`
            : `_This section is missing: it was not written._`),
    );
  }
  if (framing?.conclusion) {
    parts.push("## Conclusion", confinedToSection(framing.conclusion.trim()));
  }
  if (references.size > 0) {
    parts.push("## References");
    parts.push(
      [...references.values()]
        .map(({ number, source }) => `${number}. ${describeSource(source)}`)
        .join("\n"),
    );
  }
  // What the writers read but did not cite: never lost, so a reader can see where text came from.
  const consulted = new Map<string, Source>();
  for (const section of state.plan) {
    for (const source of byId.get(section.id)?.consulted ?? []) {
      if (!references.has(source.key) && !consulted.has(source.key)) {
        consulted.set(source.key, source);
      }
    }
  }
  if (consulted.size > 0) {
    parts.push("## Also consulted");
    parts.push([...consulted.values()].map((source) => `- ${describeSource(source)}`).join("\n"));
  }
  const summary = citationSummary(writtenInPlanOrder(state.plan, state.completedSections));
  if (summary.checked === 0 && summary.cited > 0) {
    parts.push(
      "## Citation check",
      `_The verifier gave no verdict on the ${summary.cited} cited sentences: their citations are unchecked._`,
    );
  } else if (summary.checked !== undefined && summary.checked > 0) {
    parts.push("## Citation check");
    parts.push(
      `_${summary.supported} of ${summary.checked} checked citations are supported by the passage they cite (${Math.round((summary.accuracy ?? 0) * 100)}%)._`,
    );
    if (unsupported.length > 0) {
      parts.push(
        unsupported
          .map(({ label, key, reason }) => {
            const number = references.get(key)?.number;
            return `[^${label}]: Not supported by ${number ? `source [${number}]` : "the cited source"}: ${reason}`;
          })
          .join("\n"),
      );
    }
  }
  return `${parts.join("\n\n")}\n`;
}

/** A source as the report lists it: its title, and where in it. */
function describeSource(source: Source): string {
  return source.location ? `${source.title}, ${source.location}` : source.title;
}

/**
 * The section's text with a footnote mark (`[^u1]`) after each citation the verifier found
 * unsupported; the marks are numbered across the report and collected in `unsupported`.
 */
function markUnsupported(
  section: CompletedSection,
  unsupported: { label: string; key: string; reason: string }[],
): string {
  let content = section.content;
  for (const check of section.citations?.checks ?? []) {
    if (check.supported) continue;
    const at = content.indexOf(check.sentence);
    const citation = `[${check.key}]`;
    const within = at >= 0 ? check.sentence.indexOf(citation) : -1;
    if (within < 0) continue;
    const label = `u${unsupported.length + 1}`;
    unsupported.push({ label, key: check.key, reason: check.reason });
    const end = at + within + citation.length;
    content = `${content.slice(0, end)}[^${label}]${content.slice(end)}`;
  }
  return content;
}

/** Replaces each `[key]` of the section's sources with `[n]`, numbering sources on first use. */
function numberCitations(
  content: string,
  sources: Source[],
  references: Map<string, { number: number; source: Source }>,
): string {
  let result = content;
  // Sources in the order the section first cites them, so numbers follow reading order.
  const cited = sources
    .map((source) => ({ source, at: content.indexOf(`[${source.key}]`) }))
    .filter(({ at }) => at >= 0)
    .sort((a, b) => a.at - b.at);
  for (const { source } of cited) {
    let reference = references.get(source.key);
    if (!reference) {
      reference = { number: references.size + 1, source };
      references.set(source.key, reference);
    }
    result = result.split(`[${source.key}]`).join(`[${reference.number}]`);
  }
  return result;
}
