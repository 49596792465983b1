import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { HumanMessage, type AIMessage, type BaseMessage } from "@langchain/core/messages";
import type { ZodType } from "zod";
import type { StructuredOutputStrategy } from "../schemas/configuration.js";
import { structuredOutputSchema } from "../schemas/json-schema.js";
import { OrchestratorWorkersError } from "../errors.js";
import { addUsage, usageOf, type ModelCall, type Usage } from "../schemas/usage.js";
import {
  findJson,
  readMarkdownList,
  reasoningOf,
  toSchemaShape,
  type JsonSchemaNode,
} from "./answer-text.js";
import { chatModelName } from "./chat-models.js";
import { isUnusableAnswerError, rejectsFeature } from "./retry-policy.js";

export {
  STRUCTURED_OUTPUT_STRATEGIES,
  type StructuredOutputStrategy,
} from "../schemas/configuration.js";
type Method = Exclude<StructuredOutputStrategy, "auto">;

/** What a structured-output call brought back: a valid value, or why the answer is unusable. */
export type StructuredAnswer<T> = (
  | {
      value: T;
      problem?: undefined;
      /**
       * Set when the value was read from a Markdown list because the answer held no JSON (see
       * `markdownList`); `more` says the list went on past `maxItems`.
       */
      fromMarkdownList?: { more: boolean };
    }
  | {
      value?: undefined;
      /** Why the answer cannot be used, for an error message. */
      problem: string;
      /** What came back, for debugging. */
      content: unknown;
    }
) & {
  /** Tokens of the call, and of any call a fallback replaced (zero for parts never reported). */
  usage: Usage;
  /** The model that answered. */
  model: string;
  /** The answer was unusable because of how it was asked; asking again asks differently. */
  askAgain?: boolean;
};

/**
 * What `auto` learned per client: the method a server rejected (or answered unreadably) is not
 * asked again; the next one in line is used from then on, for every call of the process.
 */
const learned = new WeakMap<BaseChatModel, Method>();

/** The method `auto` tries after `method` is rejected or ignored. */
const NEXT: Record<Method, Method | undefined> = {
  jsonSchema: "jsonMode",
  jsonMode: "prompt",
  toolCalling: "prompt",
  prompt: undefined,
};

/**
 * The tag on every structured model call (plans, reviews, verifications, framings): LangGraph's
 * `messages` stream mode skips runs tagged `nostream`, so their JSON never reaches a chat client.
 */
export const STRUCTURED_ANSWER_TAG = "nostream";

/**
 * The one structured-output call (plans, re-plans and the aggregator's synthesis): asks `model`
 * for an answer matching `schema` and validates it with the zod schema.
 *
 * The answer is read tolerantly whatever the method: JSON in fences or prose, after a reasoning
 * block, or only in the reasoning field; an outer wrapper; keys in another casing. With `auto` (the
 * default), the JSON schema is asked for first, as a server that enforces it answers best; a server
 * that rejects it (an HTTP error naming `response_format`) is asked in JSON mode, then with the
 * schema in the prompt, and a server that ignores it (answers text the client cannot parse) is asked
 * next time with the schema in the prompt (`askAgain` says so). What was learned is kept per
 * client, so a run pays for a fallback once. An answer that arrived but stays unusable is returned
 * with the `problem`, for the caller to re-ask or fall back; transport failures (after the client's
 * retries) are thrown.
 *
 * With `markdownList`, an answer that holds no JSON at all, from the last method in line, is read
 * as a Markdown list as a last resort (`readMarkdownList`; `fromMarkdownList` says so), and only
 * where the schema is an object of one list of `{ name, description }` items whose other fields
 * have defaults: the list gives names and descriptions, never the values of other fields.
 */
export async function askStructured<T>(options: {
  model: BaseChatModel;
  schema: ZodType<T>;
  /** The schema's name, as the model sees it ("plan", "synthesis"). */
  name: string;
  messages: BaseMessage[];
  callOptions?: { tags?: string[]; metadata?: Record<string, unknown> };
  strategy?: StructuredOutputStrategy;
  /** Read a Markdown list of named items when no JSON comes back, taking at most `maxItems`. */
  markdownList?: { maxItems: number };
}): Promise<StructuredAnswer<T>> {
  const { model, schema, name, strategy = "auto" } = options;
  const jsonSchema = structuredOutputSchema(schema);
  let method: Method = strategy === "auto" ? (learned.get(model) ?? "jsonSchema") : strategy;
  let usage: Usage = { input: 0, output: 0, total: 0 };
  for (;;) {
    let reply: Reply;
    try {
      reply = await ask(method, { ...options, jsonSchema, firstTry: strategy === "auto" });
    } catch (error) {
      const next: Method | undefined = NEXT[method];
      if (strategy !== "auto" || !next || !rejectsFeature(error)) throw error;
      learned.set(model, next);
      method = next;
      continue;
    }
    usage = addUsage(usage, reply.usage);
    const answer = interpret(reply, schema, jsonSchema, name);
    const next: Method | undefined = NEXT[method];
    if (
      answer.problem !== undefined &&
      answer.withoutJson !== undefined &&
      options.markdownList &&
      (strategy !== "auto" || !next)
    ) {
      const listed = fromMarkdownList(answer.withoutJson, schema, jsonSchema, options.markdownList);
      if (listed) return { ...listed, usage, model: chatModelName(model) };
    }
    // A server that took the schema but answered text its client could not parse ignores it: the
    // next question goes in the prompt (the caller decides whether to ask again).
    const ignored = reply.unreadable && !/length limit/i.test(reply.error?.message ?? "");
    if (answer.problem !== undefined && ignored && strategy === "auto" && next) {
      learned.set(model, "prompt");
      return { ...answer, usage, model: chatModelName(model), askAgain: true };
    }
    return { ...answer, usage, model: chatModelName(model) };
  }
}

/**
 * A structured answer that must be usable (the aggregator's, the verifier's, the reviewer's): asked
 * once, and once more when the first answer was unusable because of how it was asked (`askAgain`).
 * Every call is appended to `calls` as `record` describes it, paid even when unusable; an answer
 * that stays unusable throws an `OrchestratorWorkersError` named `errorName`, saying why.
 */
export async function askStructuredValue<T>(
  options: Parameters<typeof askStructured<T>>[0] & {
    calls: ModelCall[];
    record: Pick<ModelCall, "role" | "sectionId">;
    /** What the answer is, for the error ("a valid synthesis"). */
    what: string;
    errorName: string;
  },
): Promise<T> {
  const { calls, record, what, errorName, ...question } = options;
  const first = await askStructured(question);
  const answer = first.askAgain ? await askStructured(question) : first;
  for (const call of answer === first ? [first] : [first, answer]) {
    calls.push({ ...record, model: call.model, ...call.usage });
  }
  if (answer.problem !== undefined) {
    throw new OrchestratorWorkersError(
      errorName,
      `The ${record.role}'s answer is not ${what} (${answer.problem}).`,
    );
  }
  return answer.value;
}

/** One model call's result, before interpretation. */
interface Reply {
  parsed?: unknown;
  raw?: AIMessage;
  usage: Usage;
  /** The answer arrived but the client could not parse it (so `raw` is missing). */
  unreadable?: boolean;
  error?: Error;
}

async function ask(
  method: Method,
  options: {
    model: BaseChatModel;
    name: string;
    messages: BaseMessage[];
    callOptions?: { tags?: string[]; metadata?: Record<string, unknown> };
    jsonSchema: Record<string, unknown>;
    firstTry: boolean;
  },
): Promise<Reply> {
  const { model, name, messages, jsonSchema } = options;
  // A structured answer is data for the graph, not text for a person: chat clients reading
  // `streamMode: "messages"` (Studio's chat, agent-chat-ui, `useStream`) leave `nostream` runs out.
  const callOptions = {
    ...options.callOptions,
    tags: [...(options.callOptions?.tags ?? []), STRUCTURED_ANSWER_TAG],
  };
  if (method === "prompt") {
    const raw = (await model.invoke(
      withSchemaInPrompt(messages, name, jsonSchema),
      callOptions,
    )) as AIMessage;
    return { raw, usage: usageOf(raw) };
  }
  const structured = model.withStructuredOutput(jsonSchema, {
    name,
    includeRaw: true,
    // `auto` asks as the client would by default (the JSON schema for current models), so that a
    // server that supports it sees exactly the request it always did.
    ...(method === "jsonSchema" && options.firstTry
      ? {}
      : { method: method === "toolCalling" ? "functionCalling" : method }),
  });
  const prompt = method === "jsonMode" ? withSchemaInPrompt(messages, name, jsonSchema) : messages;
  try {
    const answer = await structured.invoke(prompt, callOptions);
    const raw = answer.raw as AIMessage | undefined;
    return { parsed: answer.parsed, raw, usage: usageOf(raw) };
  } catch (error) {
    if (!isUnusableAnswerError(error)) throw error;
    return { unreadable: true, usage: usageOf(undefined), error: error as Error };
  }
}

/** The messages with the schema, and how to answer, added to the last user message. */
function withSchemaInPrompt(
  messages: BaseMessage[],
  name: string,
  jsonSchema: Record<string, unknown>,
): BaseMessage[] {
  const instruction = `<Output schema name="${name}">
${JSON.stringify(jsonSchema)}
</Output schema>

Answer with one JSON object that matches the schema above and nothing else: no prose, no code fences.`;
  const last = messages.length - 1;
  return messages
    .map((message, index) =>
      index === last && message.getType() === "human"
        ? new HumanMessage(`${message.text}\n\n${instruction}`)
        : message,
    )
    .concat(messages[last]?.getType() === "human" ? [] : [new HumanMessage(instruction)]);
}

/** Reads a reply: the client's parse, else the JSON found in the text or the reasoning, shaped and validated. */
function interpret<T>(
  reply: Reply,
  schema: ZodType<T>,
  jsonSchema: Record<string, unknown>,
  name: string,
):
  | { value: T; problem?: undefined }
  | {
      problem: string;
      content: unknown;
      /** The answer's text, when it holds no JSON and was not cut off. */
      withoutJson?: string;
    } {
  if (reply.unreadable) {
    return {
      problem: cutOffOr(reply.error, reply.error?.message ?? "it could not be parsed"),
      content: undefined,
    };
  }
  const text = typeof reply.raw?.content === "string" ? reply.raw.content : (reply.raw?.text ?? "");
  const found =
    reply.parsed ?? findJson(text) ?? (reply.raw ? findJson(reasoningOf(reply.raw)) : undefined);
  if (found === undefined || found === null) {
    const finish = reply.raw?.response_metadata?.finish_reason as string | undefined;
    const problem =
      finish === "length"
        ? "the answer was cut off at the output limit (finish_reason length): raise maxOutputTokens"
        : text.trim()
          ? "it holds no JSON that could be parsed"
          : "it was empty";
    return {
      problem,
      content: text || reasoningOf(reply.raw ?? {}),
      ...(finish !== "length" && text.trim() ? { withoutJson: text } : {}),
    };
  }
  const shaped = toSchemaShape(found, jsonSchema);
  const result = schema.safeParse(shaped);
  if (!result.success) {
    const issue = result.error.issues[0];
    return {
      problem: `${issue?.path.join(".") || name}: ${issue?.message ?? "invalid"}`,
      content: found,
    };
  }
  return { value: result.data };
}

/**
 * The value of a Markdown list in `text`, when the schema takes one: an object whose one property
 * is a list of objects with a string `name` and `description`, and whose other fields the zod
 * schema fills in (the plan's `dependsOn` defaults to none). A schema that requires anything else
 * (a roster's `role`, a subtask's own fields) gets no value: what a list does not say is not guessed.
 */
function fromMarkdownList<T>(
  text: string,
  schema: ZodType<T>,
  jsonSchema: JsonSchemaNode,
  options: { maxItems: number },
): { value: T; fromMarkdownList: { more: boolean } } | undefined {
  const keys = Object.keys(jsonSchema.properties ?? {});
  const list = keys.length === 1 ? jsonSchema.properties![keys[0]!] : undefined;
  const item = list?.type === "array" ? list.items : undefined;
  if (
    jsonSchema.type !== "object" ||
    item?.type !== "object" ||
    item.properties?.name?.type !== "string" ||
    item.properties.description?.type !== "string"
  ) {
    return undefined;
  }
  const listed = readMarkdownList(text, options);
  if (!listed) return undefined;
  const result = schema.safeParse(toSchemaShape({ [keys[0]!]: listed.items }, jsonSchema));
  return result.success
    ? { value: result.data, fromMarkdownList: { more: listed.more } }
    : undefined;
}

function cutOffOr(error: Error | undefined, fallback: string): string {
  return error && /length limit/i.test(error.message)
    ? "the answer was cut off at the output limit (finish_reason length): raise maxOutputTokens"
    : fallback;
}
