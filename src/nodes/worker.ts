import {
  HumanMessage,
  SystemMessage,
  ToolMessage,
  type BaseMessage,
} from "@langchain/core/messages";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import type { StructuredToolInterface } from "@langchain/core/tools";
import type { Source } from "../schemas/section.js";
import { MAX_TOOL_OUTPUT_CHARACTERS, sourcesIn } from "../tools/results.js";
import { NO_USAGE, addUsage, usageOf, type Usage } from "../schemas/usage.js";
import { isGraphBubbleUp, type LangGraphRunnableConfig } from "@langchain/langgraph";
import { SectionError } from "../errors.js";
import { resolveConfiguration } from "../graph/configuration.js";
import { emitProgress } from "../graph/events.js";
import type { ReportUpdate, WorkerInputType } from "../graph/state.js";
import { chatModelName, type ChatModelProvider } from "../models/chat-models.js";
import type { Configuration } from "../schemas/configuration.js";
import { FINAL_STEP_PROMPT, TOOL_USE_PROMPT, rolePrompt, writerUserPrompt } from "./prompts.js";
import { annotateNodeRun } from "../graph/tracing.js";

/**
 * Creates the worker node, which writes one section:
 * 1. receives only the topic and its own section (through `Send`), never the whole state;
 * 2. asks the writer model for the section's Markdown body;
 * 3. drops a leading heading that repeats the section's name (the synthesizer adds it);
 * 4. with tools, runs a bounded tool-calling loop (`maxWorkerSteps` model calls, the last one
 *    included) and records the sources its section cites; without tools, makes exactly one call;
 * 5. appends `{ id, name, content, model, ... }` to `completedSections`;
 * 6. when writing fails after the model client's own retries, records `{ id, name, error }` in
 *    `failedSections` and lets the other sections finish, unless `failFast` is configured.
 *    Interrupts, cancellation and fail-fast runs still propagate the error.
 */
/** What a worker needs: where its model comes from, and the tools it may call. */
export interface WorkerDependencies {
  models: ChatModelProvider;
  tools?: StructuredToolInterface[];
}

export function createWorkerNode(dependencies: WorkerDependencies) {
  return async function worker(
    input: WorkerInputType,
    config: LangGraphRunnableConfig,
  ): Promise<ReportUpdate> {
    const { section } = input;
    const configuration = resolveConfiguration(config);
    try {
      return await writeSection(dependencies, configuration, input, config);
    } catch (error) {
      if (configuration.failFast || isGraphBubbleUp(error) || config.signal?.aborted) throw error;
      const message = errorMessage(error);
      emitProgress(config, {
        type: "section_failed",
        id: section.id,
        name: section.name,
        error: message,
      });
      return { failedSections: [{ id: section.id, name: section.name, error: message }] };
    }
  };
}

/** Writes one section: one model call, or a bounded tool-calling loop when tools are given. */
async function writeSection(
  dependencies: WorkerDependencies,
  configuration: Configuration,
  { topic, section, dependencies: builtOn }: WorkerInputType,
  config: LangGraphRunnableConfig,
): Promise<ReportUpdate> {
  const writer = dependencies.models({ role: "writer", configuration });
  const sectionMetadata = {
    section_id: section.id,
    section_name: section.name,
    ...(section.role ? { role: section.role } : {}),
  };
  const role = configuration.roles.find((candidate) => candidate.name === section.role);
  annotateNodeRun(config, { metadata: sectionMetadata, tags: [`section:${section.id}`] });
  emitProgress(config, {
    type: "section_started",
    id: section.id,
    name: section.name,
    ...(section.role ? { role: section.role } : {}),
  });
  // The metadata rides along with every token in `streamMode: "messages"` and on the model's run.
  const callOptions = { metadata: sectionMetadata, tags: ["writer", `section:${section.id}`] };
  const tools = dependencies.tools ?? [];
  const systemPrompt = [
    configuration.writerPrompt,
    ...(role ? [rolePrompt(role)] : []),
    ...(tools.length ? [TOOL_USE_PROMPT] : []),
  ].join("\n\n");
  const messages: BaseMessage[] = [
    new SystemMessage(systemPrompt),
    new HumanMessage(writerUserPrompt({ topic, section, dependencies: builtOn })),
  ];
  const written = tools.length
    ? await writeWithTools({
        writer,
        tools,
        messages,
        maxSteps: configuration.maxWorkerSteps,
        callOptions,
      })
    : await writeOnce(writer, messages, callOptions);
  const content = sectionBody(written.text, section.name);
  if (!content) {
    throw new SectionError({
      sectionId: section.id,
      sectionName: section.name,
      message: `The writer model returned no text for section "${section.name}" (${section.id}).`,
    });
  }
  emitProgress(config, {
    type: "section_completed",
    id: section.id,
    name: section.name,
    characters: content.length,
  });
  const cited = written.sources.filter((source) => content.includes(`[${source.key}]`));
  return {
    completedSections: [
      {
        id: section.id,
        name: section.name,
        content,
        model: chatModelName(writer),
        usage: written.usage,
        ...(tools.length
          ? { sources: cited, steps: written.steps, hitStepLimit: written.hitStepLimit }
          : {}),
      },
    ],
  };
}

/** What writing produced: the text, and what it took. */
interface WrittenText {
  text: string;
  steps: number;
  hitStepLimit: boolean;
  sources: Source[];
  usage: Usage;
}

/** One model call, no tools: a worker's whole job when it has none. */
async function writeOnce(
  writer: BaseChatModel,
  messages: BaseMessage[],
  callOptions: { metadata: Record<string, unknown>; tags: string[] },
): Promise<WrittenText> {
  const response = await writer.invoke(messages, callOptions);
  return {
    text: response.text,
    steps: 1,
    hitStepLimit: false,
    sources: [],
    usage: usageOf(response),
  };
}

/**
 * The tool loop: the model, bound to the tools, asks for tool calls; each is run and its (bounded)
 * output fed back, until the model writes or `maxSteps` model calls are used. The last allowed
 * call is made without tools, so the worker always ends with a section. A tool that fails becomes
 * an error message to the model, not a failed section.
 */
async function writeWithTools(options: {
  writer: BaseChatModel;
  tools: StructuredToolInterface[];
  messages: BaseMessage[];
  maxSteps: number;
  callOptions: { metadata: Record<string, unknown>; tags: string[] };
}): Promise<WrittenText> {
  const { writer, tools, messages, maxSteps, callOptions } = options;
  if (typeof writer.bindTools !== "function") {
    throw new Error(`The writer model (${chatModelName(writer)}) cannot call tools.`);
  }
  const withTools = writer.bindTools(tools);
  const byName = new Map(tools.map((candidate) => [candidate.name, candidate]));
  const sources = new Map<string, Source>();
  let usage = NO_USAGE;
  const finish = (text: string, steps: number, hitStepLimit: boolean): WrittenText => ({
    text,
    steps,
    hitStepLimit,
    sources: [...sources.values()],
    usage,
  });
  for (let step = 1; step <= maxSteps; step += 1) {
    if (step === maxSteps) {
      const last = await writer.invoke(
        step > 1 ? [...messages, new HumanMessage(FINAL_STEP_PROMPT)] : messages,
        callOptions,
      );
      usage = addUsage(usage, usageOf(last));
      return finish(last.text, step, true);
    }
    const response = await withTools.invoke(messages, callOptions);
    usage = addUsage(usage, usageOf(response));
    if (!response.tool_calls?.length) return finish(response.text, step, false);
    messages.push(response);
    for (const call of response.tool_calls) {
      const output = await runTool(byName.get(call.name), call.name, call.args);
      for (const source of sourcesIn(output)) sources.set(source.key, source);
      messages.push(
        new ToolMessage({ content: output, tool_call_id: call.id ?? call.name, name: call.name }),
      );
    }
  }
  throw new Error("unreachable: the last step always returns");
}

/** Runs one tool call; its output is only ever text for the model, bounded, never executed. */
async function runTool(
  chosen: StructuredToolInterface | undefined,
  name: string,
  args: Record<string, unknown>,
): Promise<string> {
  if (!chosen) return `Tool error: there is no tool named "${name}".`;
  try {
    const output: unknown = await chosen.invoke(args);
    const text = typeof output === "string" ? output : JSON.stringify(output);
    return text.slice(0, MAX_TOOL_OUTPUT_CHARACTERS);
  } catch (error) {
    return `Tool error: ${errorMessage(error)}`;
  }
}

/** One line, at most 300 characters: enough to tell what went wrong, small enough for the state. */
function errorMessage(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const line = text.replace(/\s*\n\s*/g, " ").trim();
  return line.length > 300 ? `${line.slice(0, 299)}…` : line;
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
