import {
  HumanMessage,
  SystemMessage,
  ToolMessage,
  type AIMessage,
  type BaseMessage,
} from "@langchain/core/messages";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { RunnableLambda } from "@langchain/core/runnables";
import type { StructuredToolInterface } from "@langchain/core/tools";
import { isGraphBubbleUp, type LangGraphRunnableConfig } from "@langchain/langgraph";
import { SectionError, shortMessage } from "../errors.js";
import { chatModelName, type ChatModelProvider } from "../models/chat-models.js";
import { resolveConfiguration, type Configuration } from "../schemas/configuration.js";
import { emitProgress } from "../schemas/events.js";
import {
  FINAL_STEP_PROMPT,
  TOOL_USE_PROMPT,
  rolePrompt,
  writerUserPrompt,
} from "../schemas/prompts.js";
import type { CompletedSection, Source } from "../schemas/section.js";
import { sourcesIn } from "../schemas/sources.js";
import type { ReportUpdate, WorkerInputType } from "../schemas/state.js";
import { usageOf, type ModelCall } from "../schemas/usage.js";
import { MAX_TOOL_OUTPUT_CHARACTERS } from "../tools/results.js";

/** What a worker needs: where its model comes from, and the tools it may call. */
export interface WorkerDependencies {
  models: ChatModelProvider;
  tools?: StructuredToolInterface[];
}

/** The model calls of one section, recorded as they are made (a failed section's were paid too). */
type CallLog = ModelCall[];

/**
 * Creates the worker node, which writes one section:
 * 1. receives only the topic and its own section (through `Send`), never the whole state;
 * 2. does its work in a child run named after the section, with the section's id, name and role
 *    in its metadata and tags, so each section reads as its own run in a trace;
 * 3. asks the writer model for the section's Markdown body: one call, or, with tools, a bounded
 *    tool-calling loop (`maxWorkerSteps` model calls, the last one without tools) that records the
 *    sources its section cites;
 * 4. drops a leading heading that repeats the section's name (the synthesizer adds it);
 * 5. appends `{ id, name, content, model, ... }` to `completedSections` and its calls to
 *    `modelCalls`;
 * 6. when writing fails after the model client's own retries, records `{ id, name, error }` in
 *    `failedSections` (and the calls it paid for) and lets the other sections finish, unless
 *    `failFast` is configured. Interrupts, cancellation and fail-fast runs still propagate.
 */
export function createWorkerNode(dependencies: WorkerDependencies) {
  return async function worker(
    input: WorkerInputType,
    config: LangGraphRunnableConfig,
  ): Promise<ReportUpdate> {
    const { section } = input;
    const configuration = resolveConfiguration(config);
    const calls: CallLog = [];
    const metadata = {
      section_id: section.id,
      section_name: section.name,
      ...(section.role ? { role: section.role } : {}),
    };
    emitProgress(config, {
      type: "section_started",
      id: section.id,
      name: section.name,
      ...(section.role ? { role: section.role } : {}),
    });
    try {
      const completed = await RunnableLambda.from((sectionInput: WorkerInputType) =>
        writeSection(dependencies, configuration, sectionInput, calls),
      )
        .withConfig({ runName: section.name, metadata, tags: [`section:${section.id}`] })
        .invoke(input, config);
      emitProgress(config, {
        type: "section_completed",
        id: section.id,
        name: section.name,
        characters: completed.content.length,
      });
      return { completedSections: [completed], modelCalls: calls };
    } catch (error) {
      if (configuration.failFast || isGraphBubbleUp(error) || config.signal?.aborted) throw error;
      const message = shortMessage(error);
      emitProgress(config, {
        type: "section_failed",
        id: section.id,
        name: section.name,
        error: message,
      });
      return {
        failedSections: [{ id: section.id, name: section.name, error: message }],
        modelCalls: calls,
      };
    }
  };
}

/** Writes one section: one model call, or a bounded tool-calling loop when tools are given. */
async function writeSection(
  dependencies: WorkerDependencies,
  configuration: Configuration,
  { topic, section, dependencies: builtOn }: WorkerInputType,
  calls: CallLog,
): Promise<CompletedSection> {
  const writer = dependencies.models({ role: "writer", configuration });
  const model = chatModelName(writer);
  const record = (message: AIMessage) =>
    calls.push({ role: "writer", model, sectionId: section.id, ...usageOf(message) });
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
        call: async (bound, history) => {
          const response = await bound.invoke(history, callOptions);
          record(response);
          return response;
        },
      })
    : await (async () => {
        const response = await writer.invoke(messages, callOptions);
        record(response);
        return { text: response.text, steps: 1, hitStepLimit: false, sources: [] };
      })();
  const content = sectionBody(written.text, section.name);
  if (!content) {
    throw new SectionError({
      sectionId: section.id,
      sectionName: section.name,
      message: `The writer model returned no text for section "${section.name}" (${section.id}).`,
    });
  }
  const cited = written.sources.filter((source) => content.includes(`[${source.key}]`));
  return {
    id: section.id,
    name: section.name,
    content,
    model,
    ...(tools.length
      ? { sources: cited, steps: written.steps, hitStepLimit: written.hitStepLimit }
      : {}),
  };
}

/** What writing produced: the text, and what it took. */
interface WrittenText {
  text: string;
  steps: number;
  hitStepLimit: boolean;
  sources: Source[];
}

/** A model call of the loop: `bound` is the writer with or without its tools. */
type LoopCall = (
  bound: { invoke: BaseChatModel["invoke"] },
  messages: BaseMessage[],
) => Promise<AIMessage>;

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
  call: LoopCall;
}): Promise<WrittenText> {
  const { writer, tools, messages, maxSteps, call } = options;
  if (typeof writer.bindTools !== "function") {
    throw new Error(`The writer model (${chatModelName(writer)}) cannot call tools.`);
  }
  const withTools = writer.bindTools(tools);
  const byName = new Map(tools.map((candidate) => [candidate.name, candidate]));
  const sources = new Map<string, Source>();
  const finish = (text: string, steps: number, hitStepLimit: boolean): WrittenText => ({
    text,
    steps,
    hitStepLimit,
    sources: [...sources.values()],
  });
  for (let step = 1; step <= maxSteps; step += 1) {
    if (step === maxSteps) {
      const last = await call(
        writer,
        step > 1 ? [...messages, new HumanMessage(FINAL_STEP_PROMPT)] : messages,
      );
      return finish(last.text, step, true);
    }
    const response = await call(withTools, messages);
    if (!response.tool_calls?.length) return finish(response.text, step, false);
    messages.push(response);
    for (const toolCall of response.tool_calls) {
      const output = await runTool(byName.get(toolCall.name), toolCall.name, toolCall.args);
      for (const source of sourcesIn(output)) sources.set(source.key, source);
      messages.push(
        new ToolMessage({
          content: output,
          tool_call_id: toolCall.id ?? toolCall.name,
          name: toolCall.name,
        }),
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
    return `Tool error: ${shortMessage(error)}`;
  }
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
