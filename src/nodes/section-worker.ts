import { AIMessage, HumanMessage, SystemMessage, type BaseMessage } from "@langchain/core/messages";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import type { StructuredToolInterface } from "@langchain/core/tools";
import {
  END,
  START,
  StateGraph,
  isGraphBubbleUp,
  type LangGraphRunnableConfig,
} from "@langchain/langgraph";
import { z } from "zod";
import { SectionError, redactValue, shortMessage } from "../errors.js";
import { findJson, withoutReasoning } from "../models/answer-text.js";
import { chatModelName, type ChatModelProvider } from "../models/chat-models.js";
import { verifyClaims } from "../models/citation-verifier.js";
import {
  RetrievalLog,
  asToolCalls,
  looksLikeToolCall,
  queryArguments,
  redactAnswer,
  runTool,
  writeAfterRetrieval,
  writeWithTools,
  type LoopCall,
  type WrittenText,
} from "../models/tool-loop.js";
import { reviewSection } from "../models/section-reviewer.js";
import { rejectsFeature } from "../models/retry-policy.js";
import { checkCitations, citedClaims } from "../schemas/citations.js";
import { RUN_TOOLS_KEY, runConfiguration, type Configuration } from "../schemas/configuration.js";
import type { ProgressEvent } from "../schemas/events.js";
import {
  TOOL_USE_PROMPT,
  revisionUserPrompt,
  rolePrompt,
  writerUserPrompt,
} from "../schemas/prompts.js";
import type {
  CompletedSection,
  SectionCitations,
  SectionReview,
  SectionReviewAnswer,
  Source,
} from "../schemas/section.js";
import type { Work, WorkLog, WorkSteps } from "../schemas/shape.js";
import type { WorkerInputType } from "../schemas/state.js";
import { usageOf, type ModelCall } from "../schemas/usage.js";

/** What a worker needs: where its model comes from, the tools it may call, what to redact. */
export interface WorkerDependencies {
  models: ChatModelProvider;
  tools?: StructuredToolInterface[];
  /** Removes every configured secret from a text before it is stored or shown. */
  redact?: (text: string) => string;
}

/**
 * Most characters of one section's text. Beyond it a model is running away (repeating itself, or
 * a server ignoring the output limit); the text is cut with a warning, so one answer cannot make
 * the report, the database and memory grow without bound.
 */
export const MAX_SECTION_CHARACTERS = 100_000;

/** The model calls of one section, recorded as they are made (a failed section's were paid too). */
type CallLog = ModelCall[];

/**
 * Creates the report's section work, which the core worker node runs for each section in a child
 * run named after it (see `createWorkerNode`: progress events, failure isolation):
 * 1. receives only the topic and its own section (through `Send`), and the sections it builds on;
 * 2. **write**: asks the writer model for the section's Markdown body: one call, or, with tools
 *    (the graph's, the run's MCP tools, narrowed to the section's role's list), a bounded
 *    tool-calling loop (`maxWorkerSteps` model calls, the last one without tools) that records
 *    every source a tool returned, passages and other results alike; reasoning and a leading
 *    heading that repeats the section's name are dropped (the synthesizer adds it);
 * 3. **review** and **revise** (with `sectionReview`): the reviewer grades the text and a failing
 *    section is rewritten with the feedback, at most `maxRevisions` times;
 * 4. **verify**: checks the citations (`verifyCitations`): other forms become `[key]`, a key no
 *    tool returned is removed and warned about; with `llm`, the verifier model checks each cited
 *    sentence against its passage;
 * 5. returns `{ id, name, content, model, sources, consulted, citations, review, ... }`, the entry
 *    the core appends to `completedSections`; its calls and warnings go to the log as they are made.
 * With `sectionReview`, the steps run as a compiled subgraph (`steps`), so a trace and Studio's
 * run view show write → review → revise → verify; without, the section is written and verified in
 * one function (a subgraph costs about 5 ms of CPU per section, measured with 1,000 sections:
 * bench/NOTES.md §12), which is all it would show.
 */
export function createSectionWork(dependencies: WorkerDependencies): {
  work: Work;
  steps: (configuration: Configuration) => WorkSteps | undefined;
} {
  const start = (input: Record<string, unknown>, config: LangGraphRunnableConfig, log: WorkLog) =>
    startDraft(dependencies, runConfiguration(config), input as unknown as WorkerInputType, log);
  const graph = sectionStepsGraph(start);
  return {
    work: async (input, config, log) => finishDraft(await start(input, config, log), undefined),
    steps: (configuration) =>
      configuration.sectionReview.enabled
        ? {
            runnable: graph,
            input: (input, log) => ({ work: { input, log } }),
            result: (output) => (output as { section: CompletedSection }).section,
          }
        : undefined,
  };
}

/** A section in the making: what its write, review, revise and verify steps share. */
interface Draft {
  dependencies: WorkerDependencies;
  configuration: Configuration;
  topic: string;
  section: WorkerInputType["section"];
  writer: BaseChatModel;
  model: string;
  call: LoopCall;
  callOptions: { metadata: Record<string, unknown>; tags: string[] };
  retrieval: RetrievalLog;
  systemPrompt: string;
  writerTask: string;
  written: WrittenText;
  /** The current version of the section's body. */
  content: string;
  log: SectionLog;
}

/** The section steps' state: the work given, the draft, the review so far and the result. */
const SectionStepsState = z.object({
  work: z.custom<{ input: Record<string, unknown>; log: WorkLog }>(),
  draft: z.custom<Draft>().optional(),
  revision: z.number().int().default(0),
  verdict: z.custom<SectionReviewAnswer>().optional(),
  /** How the section fared in review, once it is done with review. */
  reviewed: z.custom<SectionReview>().optional(),
  section: z.custom<CompletedSection>().optional(),
});

/**
 * The section's steps as a compiled subgraph: write → review → (revise → review)* → verify. It
 * keeps no checkpoints of its own (its state holds the draft's live objects; the section's record
 * is what the parent checkpoints).
 */
function sectionStepsGraph(
  start: (
    input: Record<string, unknown>,
    config: LangGraphRunnableConfig,
    log: WorkLog,
  ) => Promise<Draft>,
) {
  return new StateGraph(SectionStepsState)
    .addNode("write", async (state, config) => ({
      draft: await start(state.work.input, config, state.work.log),
    }))
    .addNode("review", async (state) => reviewOnce(state.draft!, state.revision))
    .addNode("revise", async (state) => ({
      draft: { ...state.draft!, content: await reviseOnce(state.draft!, state.verdict!) },
      revision: state.revision + 1,
    }))
    .addNode("verify", async (state) => ({
      section: await finishDraft(state.draft!, state.reviewed),
    }))
    .addEdge(START, "write")
    .addEdge("write", "review")
    .addConditionalEdges("review", (state) => (state.reviewed ? "verify" : "revise"), [
      "verify",
      "revise",
    ])
    .addEdge("revise", "review")
    .addEdge("verify", END)
    .compile({ checkpointer: false, name: "section" });
}

/** The tools started for this run (the MCP servers' of `mcpServers`), from its `configurable`. */
function runTools(config: LangGraphRunnableConfig): StructuredToolInterface[] {
  const given = (config.configurable as Record<string, unknown> | undefined)?.[RUN_TOOLS_KEY];
  return Array.isArray(given) ? (given as StructuredToolInterface[]) : [];
}

/**
 * The tools a section's writer may call: all of them, or the ones its role lists. A listed name no
 * tool has is warned about (the CLI refuses it before the run; a graph run names it here).
 */
function toolsFor(
  section: { id: string; role?: string },
  configuration: Configuration,
  tools: StructuredToolInterface[],
  warnings: string[],
): StructuredToolInterface[] {
  const role = configuration.roles.find((candidate) => candidate.name === section.role);
  if (!role?.tools) return tools;
  const allowed = new Set(role.tools);
  const missing = role.tools.filter((name) => !tools.some((candidate) => candidate.name === name));
  if (missing.length) {
    warnings.push(
      `Role "${role.name}" (section ${section.id}) names tools that this run does not have: ${missing.join(", ")}; available: ${tools.map((candidate) => candidate.name).join(", ") || "none"}.`,
    );
  }
  return tools.filter((candidate) => allowed.has(candidate.name));
}

/**
 * The write step: one model call, or a bounded tool-calling loop when tools are given; the body
 * cleaned (see `bodyOf`).
 */
async function startDraft(
  dependencies: WorkerDependencies,
  configuration: Configuration,
  { topic, section, dependencies: builtOn }: WorkerInputType,
  workLog: WorkLog,
): Promise<Draft> {
  const tools = toolsFor(
    section,
    configuration,
    [...(dependencies.tools ?? []), ...runTools(workLog.config)],
    workLog.warnings,
  );
  const log: SectionLog = {
    calls: workLog.calls,
    warnings: workLog.warnings,
    sectionWarnings: [],
    tools,
    emit: workLog.emit,
  };
  const writer = dependencies.models({ role: "writer", configuration });
  const model = chatModelName(writer);
  const redact = dependencies.redact ?? ((text: string) => text);
  const call: LoopCall = async (bound, history) => {
    const response = await readable(() => bound.invoke(history, callOptions), section.name);
    log.calls.push({ role: "writer", model, sectionId: section.id, ...usageOf(response) });
    return dependencies.redact ? redactAnswer(response, redact) : response;
  };
  const role = configuration.roles.find((candidate) => candidate.name === section.role);
  // The metadata rides along with every token in `streamMode: "messages"` and on the model's run.
  const callOptions = {
    metadata: {
      section_id: section.id,
      section_name: section.name,
      ...(section.role ? { role: section.role } : {}),
    },
    tags: ["writer", `section:${section.id}`],
  };
  const retrieval = new RetrievalLog(redact);
  const systemPrompt = [
    configuration.writerPrompt,
    ...(role ? [rolePrompt(role)] : []),
    ...(tools.length ? [TOOL_USE_PROMPT] : []),
  ].join("\n\n");
  const writerTask = writerUserPrompt({ topic, section, dependencies: builtOn });
  const messages: BaseMessage[] = [new SystemMessage(systemPrompt), new HumanMessage(writerTask)];
  let written: WrittenText;
  const lookUpFirst = () =>
    writeAfterRetrieval({ topic, section, tools, messages, call, writer, retrieval });
  if (tools.length && !toollessWriters.has(writer)) {
    try {
      written = await writeWithTools({
        writer,
        tools,
        messages,
        maxSteps: configuration.maxWorkerSteps,
        call,
        retrieval,
      });
    } catch (error) {
      if (!rejectsFeature(error)) throw error;
      // The server cannot do tool calls: from now on this client's workers look up first, then write.
      if (!toollessWriters.has(writer)) {
        toollessWriters.add(writer);
        log.warnings.push(
          `The model server refused tool calls (${shortMessage(error, { withName: false, maxLength: 200, redact })}); workers look sources up before writing instead.`,
        );
      }
      written = await lookUpFirst();
    }
  } else if (tools.length) {
    written = await lookUpFirst();
  } else {
    const response = await call(writer, messages);
    written = { text: response.text, steps: 1, hitStepLimit: false, last: response };
  }
  return {
    dependencies,
    configuration,
    topic,
    section,
    writer,
    model,
    call,
    callOptions,
    retrieval,
    systemPrompt,
    writerTask,
    written,
    content: bodyOf(written, section, tools, log.warnings),
    log,
  };
}

/**
 * The verify step, and the section's record: its citations checked (see `checkSectionCitations`),
 * its sources, steps, warnings and review.
 */
async function finishDraft(
  draft: Draft,
  review: SectionReview | undefined,
): Promise<CompletedSection> {
  const { section, log, written } = draft;
  const { tools } = log;
  const {
    citations,
    content: checked,
    ...sources
  } = await checkSectionCitations({
    dependencies: draft.dependencies,
    configuration: draft.configuration,
    topic: draft.topic,
    section,
    content: draft.content,
    retrieval: draft.retrieval,
    hadTools: tools.length > 0,
    callOptions: draft.callOptions,
    log,
  });
  log.warnings.push(...log.sectionWarnings);
  return {
    id: section.id,
    name: section.name,
    content: checked,
    model: draft.model,
    ...(tools.length
      ? { ...sources, steps: written.steps, hitStepLimit: written.hitStepLimit }
      : {}),
    ...(citations ? { citations } : {}),
    ...(log.sectionWarnings.length ? { warnings: log.sectionWarnings } : {}),
    ...(review ? { review } : {}),
  };
}

/**
 * The section's text from a writer's answer: reasoning and a repeated heading removed, cut when
 * it ran away (with a warning). An empty answer, or a tool call written as text, is an error.
 */
function bodyOf(
  written: { text: string; last?: AIMessage },
  section: { id: string; name: string },
  tools: StructuredToolInterface[],
  warnings: string[],
): string {
  let content = sectionBody(withoutReasoning(written.text), section.name);
  if (!content) throw noTextError(section, written.last);
  if (content.length > MAX_SECTION_CHARACTERS) {
    warnings.push(
      `Section ${section.id} ("${section.name}") came back with ${content.length.toLocaleString("en-US")} characters; it was cut to ${MAX_SECTION_CHARACTERS.toLocaleString("en-US")} (set maxOutputTokens to bound what is asked for).`,
    );
    content = `${content.slice(0, MAX_SECTION_CHARACTERS)}\n\n_[cut: the model's answer was longer than ${MAX_SECTION_CHARACTERS.toLocaleString("en-US")} characters]_`;
  }
  if (asToolCalls(content, tools).length > 0 || looksLikeToolCall(findJson(content))) {
    throw new SectionError({
      sectionId: section.id,
      sectionName: section.name,
      message: `The writer model answered section "${section.name}" with a tool call written as text instead of the section: use a model that supports tool calls, or run without tools.`,
    });
  }
  return content;
}

/** What a section's work records as it goes: its model calls, and the warnings for run and section. */
interface SectionLog {
  calls: CallLog;
  /** The run's warnings (every section warning is one of them too). */
  warnings: string[];
  /** Warnings about this section, kept on its record. */
  sectionWarnings: string[];
  tools: StructuredToolInterface[];
  emit: (event: ProgressEvent) => void;
}

/**
 * The review step: the reviewer grades the current version (`revision` 0 is the draft). Sets
 * `review` when the section is done with review: it passed, `maxRevisions` are used up, or the
 * reviewer failed (the current version is kept, with a warning); else `verdict` for the revise
 * step.
 */
async function reviewOnce(
  draft: Draft,
  revision: number,
): Promise<{ verdict?: SectionReviewAnswer; reviewed?: SectionReview }> {
  const { configuration, section, log } = draft;
  const reviewer = draft.dependencies.models({ role: "reviewer", configuration });
  const metadata = { section_id: section.id, section_name: section.name, revision };
  let verdict: SectionReviewAnswer;
  try {
    // Redacted where it enters: the feedback goes on into the writer's prompt and the events.
    verdict = redactValue(
      await reviewSection({
        model: reviewer,
        topic: draft.topic,
        section,
        content: draft.content,
        revision,
        systemPrompt: configuration.reviewerPrompt,
        strategy: configuration.structuredOutput,
        callOptions: { metadata, tags: ["reviewer", `section:${section.id}`] },
        calls: log.calls,
      }),
      draft.dependencies.redact ?? String,
    );
  } catch (error) {
    if (isGraphBubbleUp(error)) throw error;
    const message = shortMessage(error, {
      withName: false,
      maxLength: 300,
      redact: draft.dependencies.redact,
    });
    log.sectionWarnings.push(
      `The review of section ${section.id} ("${section.name}") failed (${message}); the section is kept as written.`,
    );
    return { reviewed: { passed: false, revisions: revision, error: message } };
  }
  log.emit({
    type: "section_reviewed",
    id: section.id,
    name: section.name,
    pass: verdict.pass,
    revision,
    ...(verdict.pass || !verdict.feedback ? {} : { feedback: verdict.feedback }),
  });
  if (verdict.pass) return { reviewed: { passed: true, revisions: revision } };
  if (revision >= configuration.sectionReview.maxRevisions) {
    return { reviewed: { passed: false, revisions: revision, feedback: verdict.feedback } };
  }
  return { verdict };
}

/**
 * The revise step: looks up the reviewer's follow-up queries with the section's tools, then has the
 * writer rewrite the section from the draft and the feedback; returns the new body.
 */
async function reviseOnce(draft: Draft, verdict: SectionReviewAnswer): Promise<string> {
  const { log, retrieval, section } = draft;
  for (const query of verdict.followUpQueries) {
    for (const candidate of log.tools) {
      const args = queryArguments(candidate, query);
      if (args)
        retrieval.record(
          candidate.name,
          args,
          await runTool(candidate, candidate.name, args, retrieval.redact),
        );
    }
  }
  const response = await draft.call(draft.writer, [
    new SystemMessage(draft.systemPrompt),
    new HumanMessage(
      revisionUserPrompt({
        task: draft.writerTask,
        draft: draft.content,
        feedback: verdict.feedback || "The reviewer failed the section without saying why.",
        sources: retrieval.passagesForPrompt(),
      }),
    ),
  ]);
  return bodyOf({ text: response.text, last: response }, section, log.tools, log.warnings);
}

/**
 * Checks a section's citations (`verifyCitations`): other forms become `[key]`, a key no tool
 * returned is removed with a warning; with `llm`, the verifier checks each cited sentence
 * against its passage. Returns the text, the cited and consulted sources, and what was found.
 */
async function checkSectionCitations(options: {
  dependencies: WorkerDependencies;
  configuration: Configuration;
  topic: string;
  section: { id: string; name: string };
  content: string;
  retrieval: RetrievalLog;
  hadTools: boolean;
  callOptions: { tags?: string[]; metadata?: Record<string, unknown> };
  log: SectionLog;
}): Promise<{
  content: string;
  sources: Source[];
  consulted: Source[];
  citations?: SectionCitations;
}> {
  const { configuration, section, retrieval, log } = options;
  const redact = options.dependencies.redact ?? ((text: string) => text);
  const checked = checkCitations(options.content, retrieval.items, configuration.verifyCitations);
  log.sectionWarnings.push(
    ...checked.fabricated.map(
      (citation) =>
        `Section ${section.id} ("${section.name}") cited ${citation.startsWith("[") ? citation : `[${citation}]`}, which no tool returned to its writer: the citation was removed.`,
    ),
  );
  const result = { content: checked.content, sources: checked.cited, consulted: checked.consulted };
  if (!options.hadTools && checked.fabricated.length === 0) return result;
  const claims = citedClaims(checked.content, new Set(checked.cited.map((source) => source.key)));
  let citations: SectionCitations = {
    cited: claims.length,
    ...(checked.fabricated.length ? { fabricated: checked.fabricated } : {}),
  };
  if (configuration.verifyCitations === "llm" && claims.length > 0) {
    try {
      const checks = await verifyClaims({
        model: options.dependencies.models({ role: "verifier", configuration }),
        topic: options.topic,
        claims: claims.map((claim) => ({ ...claim, passage: retrieval.textOf(claim.key) })),
        systemPrompt: configuration.verifierPrompt,
        strategy: configuration.structuredOutput,
        sectionId: section.id,
        callOptions: { ...options.callOptions, tags: ["verifier", `section:${section.id}`] },
        calls: log.calls,
      });
      citations = {
        ...citations,
        checked: checks.length,
        supported: checks.filter((check) => check.supported).length,
        checks,
      };
    } catch (error) {
      if (isGraphBubbleUp(error)) throw error;
      log.sectionWarnings.push(
        `The citations of section ${section.id} ("${section.name}") were not verified: ${shortMessage(error, { withName: false, maxLength: 300, redact })}.`,
      );
    }
  }
  return { ...result, citations };
}

/** Writer clients whose server refused tool calls: their workers look up first, then write. */
const toollessWriters = new WeakSet<BaseChatModel>();

/**
 * Calls the model, naming what a server's odd answer means: an answer with no choices (which the
 * client reads as a TypeError) becomes an error that says so.
 */
async function readable(call: () => Promise<AIMessage>, sectionName: string): Promise<AIMessage> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof TypeError && /undefined|null/.test(error.message)) {
      throw new SectionError({
        sectionId: "",
        sectionName,
        message: `The model server answered section "${sectionName}" with no choices (an empty "choices" list): check the model name and the server's logs.`,
        cause: error,
      });
    }
    throw error;
  }
}

/** Why an answer had no text: cut off at the output limit, empty, or null content. */
function noTextError(
  section: { id: string; name: string },
  last: AIMessage | undefined,
): SectionError {
  const finish = last?.response_metadata?.finish_reason as string | undefined;
  const reasoned = last && (last.additional_kwargs?.reasoning_content || /<think/i.test(last.text));
  const message =
    finish === "length"
      ? `The writer's answer for section "${section.name}" (${section.id}) was cut off at the output limit (finish_reason "length")${reasoned ? " while it was still reasoning" : ""} before any text: raise maxOutputTokens (--max-output-tokens).`
      : `The writer model returned no text for section "${section.name}" (${section.id}): an empty answer${finish ? ` with finish_reason "${finish}"` : ""}. Check that the model name is right and the model can write text.`;
  return new SectionError({ sectionId: section.id, sectionName: section.name, message });
}

/** The section's body: trimmed, without a first heading that only repeats the section's name. */
export function sectionBody(text: string, name: string): string {
  const trimmed = text.trim();
  const [first = "", ...rest] = trimmed.split("\n");
  const heading = /^#{1,6}\s+(.*?)\s*#*$/.exec(first.trim());
  if (heading && normalize(heading[1]!) === normalize(name)) return rest.join("\n").trim();
  return trimmed;
}

function normalize(text: string): string {
  return text.replace(/[*_`]/g, "").trim().toLowerCase();
}
