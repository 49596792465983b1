import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { AIMessage, HumanMessage, ToolMessage, type BaseMessage } from "@langchain/core/messages";
import type { StructuredToolInterface } from "@langchain/core/tools";
import { convertToOpenAITool } from "@langchain/core/utils/function_calling";
import { redactValue, shortMessage } from "../errors.js";
import type { RetrievedSource } from "../schemas/citations.js";
import { FINAL_STEP_PROMPT, RETRIEVED_SOURCES_PROMPT } from "../schemas/prompts.js";
import type { Source } from "../schemas/section.js";
import { MAX_TOOL_OUTPUT_CHARACTERS, isPassageList, passagesIn } from "../schemas/sources.js";
import { findJson, withoutReasoning } from "./answer-text.js";
import { chatModelName } from "./chat-models.js";

/*
 * A worker's use of tools: the bounded tool-calling loop, the look-up-first path for servers
 * that cannot call tools, reading tool calls however a server sends them, and the record of every
 * source the tools returned.
 */

/** Most characters of what was found that a revising writer is shown again. */
const MAX_REVISION_SOURCE_CHARACTERS = 12_000;

/** Most characters of a tool result kept as its excerpt in the section's record. */
const EXCERPT_CHARACTERS = 240;

/**
 * Every source a section's tools returned, in the order they came: the passages of tools that
 * return `{ results: [...] }`, and any other result under a key made from the tool's name and its
 * main argument (which the writer is told, so it can cite that result too). What is stored of
 * them (arguments, excerpts) is redacted; the full text stays in memory for the verifier.
 */
export class RetrievalLog {
  readonly items: RetrievedSource[] = [];
  private readonly byKey = new Map<string, RetrievedSource>();

  /** @param redact removes every configured secret from a text (tool output first of all). */
  constructor(readonly redact: (text: string) => string) {}

  /**
   * Records a tool call's output; returns what the writer model sees of it. Every tool's output
   * passes here, and is redacted first: a secret a tool echoed reaches neither the model's prompt
   * nor the section's record.
   */
  record(tool: string, args: Record<string, unknown>, given: string): string {
    const output = this.redact(given);
    if (output.startsWith("Tool error:")) return output;
    // A list of passages (even an empty one) is sources; anything else is one source of its own.
    if (isPassageList(output)) {
      const passages = passagesIn(output);
      for (const { text, ...source } of passages) {
        this.add({ ...source, tool, excerpt: this.excerpt(text) }, text);
      }
      return output;
    }
    const subject = mainArgument(args);
    let key = `${tool}:${subject}`;
    for (let copy = 2; this.byKey.has(key) && this.byKey.get(key)!.text !== output; copy += 1) {
      key = `${tool}:${subject}#${copy}`;
    }
    this.add(
      {
        key,
        title: `${tool} ${subject}`,
        location: "",
        tool,
        arguments: this.redact(JSON.stringify(args)).slice(0, 500),
        excerpt: this.excerpt(output),
      },
      output,
    );
    return `Citation key of this result: [${key}]\n\n${output}`;
  }

  /** What was found so far, for a writer revising its section: each passage with its key, bounded. */
  passagesForPrompt(): string {
    let total = 0;
    const blocks: string[] = [];
    for (const { source, text } of this.items) {
      const block = JSON.stringify({
        key: source.key,
        title: source.title,
        text: text.slice(0, 1500),
      });
      total += block.length;
      if (total > MAX_REVISION_SOURCE_CHARACTERS) break;
      blocks.push(block);
    }
    return blocks.join("\n");
  }

  /** The text a source's tool returned, for the verifier. */
  textOf(key: string): string {
    return this.byKey.get(key)?.text ?? "";
  }

  private add(source: Source, text: string): void {
    if (this.byKey.has(source.key)) return;
    const item = { source, text };
    this.byKey.set(source.key, item);
    this.items.push(item);
  }

  private excerpt(text: string): string {
    const flat = this.redact(text).replace(/\s+/g, " ").trim();
    return flat.length > EXCERPT_CHARACTERS ? `${flat.slice(0, EXCERPT_CHARACTERS)}…` : flat;
  }
}

/**
 * A model's answer with every secret redacted: its text (content blocks included), the arguments
 * of the tool calls it asked for (so a key it quoted is never sent to a tool), and what the client
 * kept of the raw answer. The writer's every answer passes here before it is read.
 */
export function redactAnswer(answer: AIMessage, redact: (text: string) => string): AIMessage {
  return new AIMessage({
    content: redactValue(answer.content, redact),
    tool_calls: redactValue(answer.tool_calls ?? [], redact),
    invalid_tool_calls: redactValue(answer.invalid_tool_calls ?? [], redact),
    additional_kwargs: redactValue(answer.additional_kwargs, redact),
    response_metadata: redactValue(answer.response_metadata, redact),
    ...(answer.usage_metadata ? { usage_metadata: answer.usage_metadata } : {}),
    ...(answer.id ? { id: answer.id } : {}),
    ...(answer.name ? { name: answer.name } : {}),
  });
}

/** What a tool call was about, for its key: its first text argument, or its arguments as JSON. */
function mainArgument(args: Record<string, unknown>): string {
  const text = Object.values(args).find(
    (value): value is string => typeof value === "string" && value.trim() !== "",
  );
  const subject = (text ?? JSON.stringify(args)).replace(/[[\]\s]+/g, " ").trim();
  return subject.length > 120 ? `${subject.slice(0, 120)}…` : subject || "call";
}

/** What writing produced: the text, and what it took. */
export interface WrittenText {
  text: string;
  steps: number;
  hitStepLimit: boolean;
  /** The last answer, to say why it had no text. */
  last?: AIMessage;
}

/** A model call of the loop: `bound` is the writer with or without its tools. */
export type LoopCall = (
  bound: { invoke: BaseChatModel["invoke"] },
  messages: BaseMessage[],
) => Promise<AIMessage>;

/**
 * The tool loop: the model, bound to the tools, asks for tool calls; each is run and its (bounded)
 * output fed back, until the model writes or `maxSteps` model calls are used. The last allowed
 * call is made without tools, so the worker always ends with a section. A tool that fails becomes
 * an error message to the model, not a failed section.
 */
export async function writeWithTools(options: {
  writer: BaseChatModel;
  tools: StructuredToolInterface[];
  messages: BaseMessage[];
  maxSteps: number;
  call: LoopCall;
  retrieval: RetrievalLog;
}): Promise<WrittenText> {
  const { writer, tools, messages, maxSteps, call, retrieval } = options;
  if (typeof writer.bindTools !== "function") {
    throw new Error(`The writer model (${chatModelName(writer)}) cannot call tools.`);
  }
  const withTools = writer.bindTools(tools);
  const byName = new Map(tools.map((candidate) => [candidate.name, candidate]));
  const finish = (
    text: string,
    steps: number,
    hitStepLimit: boolean,
    last: AIMessage,
  ): WrittenText => ({ text, steps, hitStepLimit, last });
  for (let step = 1; step <= maxSteps; step += 1) {
    if (step === maxSteps) {
      const last = await call(
        writer,
        step > 1 ? [...messages, new HumanMessage(FINAL_STEP_PROMPT)] : messages,
      );
      return finish(last.text, step, true, last);
    }
    const response = await call(withTools, messages);
    const toolCalls = toolCallsOf(response, tools);
    if (toolCalls.length === 0) return finish(response.text, step, false, response);
    messages.push(
      response.tool_calls?.length
        ? response
        : new AIMessage({
            content: "",
            tool_calls: toolCalls.map((call) => ({ ...call, type: "tool_call" as const })),
          }),
    );
    for (const toolCall of toolCalls) {
      const output = await runTool(
        byName.get(toolCall.name),
        toolCall.name,
        toolCall.args,
        retrieval.redact,
      );
      messages.push(
        new ToolMessage({
          content: retrieval.record(toolCall.name, toolCall.args, output),
          tool_call_id: toolCall.id,
          name: toolCall.name,
        }),
      );
    }
  }
  throw new Error("unreachable: the last step always returns");
}

/** A tool call, however the server sent it. */
interface ToolCallRequest {
  id: string;
  name: string;
  args: Record<string, unknown>;
}

let textToolCalls = 0;

/**
 * The tool calls of an answer: its parsed `tool_calls`; calls whose arguments came as a JSON object
 * rather than a string (which the client sets aside as invalid); or, from servers that put them in
 * the text (small models through Ollama), a JSON `{ "name", "arguments" }` naming a bound tool.
 */
function toolCallsOf(response: AIMessage, tools: StructuredToolInterface[]): ToolCallRequest[] {
  if (response.tool_calls?.length) {
    return response.tool_calls.map((call) => ({
      id: call.id ?? `call_${++textToolCalls}`,
      name: call.name,
      args: call.args,
    }));
  }
  const objectArguments = (response.invalid_tool_calls ?? []).flatMap((call) => {
    const args = call.args as unknown;
    return call.name && typeof args === "object" && args !== null
      ? [
          {
            id: call.id ?? `call_${++textToolCalls}`,
            name: call.name,
            args: args as Record<string, unknown>,
          },
        ]
      : [];
  });
  if (objectArguments.length) return objectArguments;
  return asToolCalls(withoutReasoning(response.text), tools);
}

/** Tool calls written as JSON text, when the text is nothing but calls of bound tools. */
export function asToolCalls(text: string, tools: StructuredToolInterface[]): ToolCallRequest[] {
  const trimmed = text.trim();
  if (!/^(```(json)?\s*)?[[{]/.test(trimmed)) return [];
  const found = findJson(trimmed);
  const list = Array.isArray(found) ? (found as unknown[]) : [found];
  const names = new Set(tools.map((candidate) => candidate.name));
  const calls = list.flatMap((item) => {
    if (!looksLikeToolCall(item)) return [];
    const { name, arguments: args, parameters } = item as Record<string, unknown>;
    const value = typeof args === "string" ? (findJson(args) ?? {}) : (args ?? parameters ?? {});
    return typeof name === "string" && names.has(name)
      ? [{ id: `call_${++textToolCalls}`, name, args: value as Record<string, unknown> }]
      : [];
  });
  return calls.length === list.length ? calls : [];
}

/** True for `{ "name": ..., "arguments" | "parameters": ... }`, the shape of a tool call as text. */
export function looksLikeToolCall(value: unknown): boolean {
  const items = Array.isArray(value) ? (value as unknown[]) : [value];
  return (
    items.length > 0 &&
    items.every(
      (item) =>
        typeof item === "object" &&
        item !== null &&
        typeof (item as { name?: unknown }).name === "string" &&
        ("arguments" in item || "parameters" in item),
    )
  );
}

/**
 * Writing for a server that cannot do tool calls: each tool that takes a text query is called once
 * with the section (its name and the topic), its results go into the prompt, and the section is
 * written in one call, citing them.
 */
export async function writeAfterRetrieval(options: {
  topic: string;
  section: { name: string };
  tools: StructuredToolInterface[];
  messages: BaseMessage[];
  writer: BaseChatModel;
  call: LoopCall;
  retrieval: RetrievalLog;
}): Promise<WrittenText> {
  const { topic, section, tools, messages, writer, call, retrieval } = options;
  const outputs: string[] = [];
  for (const candidate of tools) {
    const args = queryArguments(candidate, `${section.name} ${topic}`);
    if (!args) continue;
    const output = await runTool(candidate, candidate.name, args, retrieval.redact);
    outputs.push(retrieval.record(candidate.name, args, output));
  }
  const prompt = [
    ...messages,
    new HumanMessage(
      `${RETRIEVED_SOURCES_PROMPT}\n\n<Sources>\n${outputs.join("\n\n")}\n</Sources>`,
    ),
  ];
  const response = await call(writer, prompt);
  return { text: response.text, steps: 1, hitStepLimit: false, last: response };
}

/** Arguments that give `query` to every required text parameter of a tool, or undefined when it takes other input. */
export function queryArguments(
  candidate: StructuredToolInterface,
  query: string,
): Record<string, unknown> | undefined {
  const parameters = convertToOpenAITool(candidate).function.parameters as {
    properties?: Record<string, { type?: unknown }>;
    required?: string[];
  };
  const properties = parameters.properties ?? {};
  const required = parameters.required ?? Object.keys(properties);
  if (required.length === 0 || required.some((key) => properties[key]?.type !== "string")) {
    return undefined;
  }
  return Object.fromEntries(required.map((key) => [key, query]));
}

/**
 * Runs one tool call; its output is only ever text for the model, bounded, never executed. It is
 * redacted before it is bounded, so the cut cannot leave part of a secret behind.
 */
export async function runTool(
  chosen: StructuredToolInterface | undefined,
  name: string,
  args: Record<string, unknown>,
  redact: (text: string) => string = (text) => text,
): Promise<string> {
  if (!chosen) return `Tool error: there is no tool named "${name}".`;
  try {
    const output: unknown = await chosen.invoke(args);
    const text = typeof output === "string" ? output : JSON.stringify(output);
    return redact(text).slice(0, MAX_TOOL_OUTPUT_CHARACTERS);
  } catch (error) {
    return `Tool error: ${shortMessage(error, { redact })}`;
  }
}
