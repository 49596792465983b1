import { randomUUID } from "node:crypto";
import type { BaseMessage } from "@langchain/core/messages";
import { messagesStateReducer } from "@langchain/langgraph";
import { registry } from "@langchain/langgraph/zod";
import { z } from "zod";

/**
 * The `messages` key that chat clients read and write (LangGraph Studio's chat view,
 * agent-chat-ui, `useStream`): LangGraph's messages reducer (messages appended, or replaced by
 * id, dicts like `{ type: "human", content }` made into messages) and the `langgraph_type` mark
 * that tells Studio this is the chat. Typed as a list of any items rather than `z.custom`, which
 * has no JSON schema: with it the dev server would serve no state schema at all.
 */
export function messagesKey(description: string) {
  return z
    .array(z.unknown())
    .describe(description)
    .register(registry, {
      reducer: {
        fn: messagesStateReducer as (current: unknown[], update: unknown) => unknown[],
        // What an update may give: a list of messages or one message; none in an input.
        schema: z.union([z.array(z.unknown()), z.unknown()]).optional(),
      },
      jsonSchemaExtra: { langgraph_type: "messages" },
      default: () => [],
    }) as unknown as z.ZodType<BaseMessage[], unknown>;
}

/** The description of the `messages` key, the same for every graph. */
export const MESSAGES_DESCRIPTION =
  "The chat: a human message is a request (its text becomes the topic or request), and each run ends with an AI message holding its output.";

/**
 * Longest message text read, in UTF-16 code units: enough for any request the input checks accept
 * (which then say how long it is); the rest of a longer message is never copied.
 */
const MAX_MESSAGE_TEXT = 200_000;

/** A message's type ("human", "ai", ...), for a message object or a dict a client sent. */
function messageType(message: unknown): string | undefined {
  if (typeof message !== "object" || message === null) return undefined;
  const candidate = message as { type?: unknown; _getType?: () => string };
  if (typeof candidate.type === "string") return candidate.type;
  return typeof candidate._getType === "function" ? candidate._getType() : undefined;
}

/**
 * A message's text: its content when it is a string, else its text parts joined (images and
 * other parts are left out), read to at most `MAX_MESSAGE_TEXT` code units.
 */
export function messageText(message: unknown): string {
  const content = (message as { content?: unknown } | undefined)?.content;
  if (typeof content === "string") return content.slice(0, MAX_MESSAGE_TEXT + 1);
  if (!Array.isArray(content)) return "";
  let text = "";
  for (const part of content) {
    if (text.length > MAX_MESSAGE_TEXT) break;
    if (typeof part === "string") text += part;
    else if (
      typeof part === "object" &&
      part !== null &&
      (part as { type?: unknown }).type === "text" &&
      typeof (part as { text?: unknown }).text === "string"
    ) {
      text += (text ? "\n" : "") + (part as { text: string }).text;
    }
  }
  return text.slice(0, MAX_MESSAGE_TEXT + 1);
}

/**
 * The human message that asks for new work: the thread's last message, when it is a human
 * message and not the one the current plan was made for (`answered`, the plan's `messageId`).
 * A thread whose last message is the run's own answer, or whose run from that message stopped
 * before answering, asks nothing new: the request is then the `topic`/`request` key.
 */
export function askedInMessages(
  messages: unknown,
  answered: string | undefined,
): { id: string | undefined; text: string } | undefined {
  if (!Array.isArray(messages) || messages.length === 0) return undefined;
  const last: unknown = messages[messages.length - 1];
  if (messageType(last) !== "human") return undefined;
  const id = (last as { id?: unknown }).id;
  if (typeof id === "string" && id === answered) return undefined;
  return { id: typeof id === "string" ? id : undefined, text: messageText(last) };
}

/** The text of the thread's last human message, if any. */
export function lastHumanText(messages: unknown): string | undefined {
  if (!Array.isArray(messages)) return undefined;
  for (let index = messages.length - 1; index >= 0; index -= 1) {
    if (messageType(messages[index]) === "human") return messageText(messages[index]);
  }
  return undefined;
}

/**
 * A message as LangGraph's messages reducer takes it: a plain object (made into a message class
 * by the reducer), so the one redaction of stored updates reaches its text as it does any other.
 */
export interface MessageLike {
  type: "human" | "ai";
  content: string;
  id: string;
  name?: string;
}

/** The human message that records a request given as `topic`/`request`, with a fresh id. */
export function requestMessage(request: string): MessageLike {
  return { type: "human", content: request, id: randomUUID() };
}

/**
 * The AI message that ends a run: the output as text (a string as it is, anything else as JSON
 * in a fenced block).
 */
export function outputMessage(output: unknown, name?: string): MessageLike {
  const content =
    typeof output === "string"
      ? output
      : `\`\`\`json\n${JSON.stringify(output ?? null, null, 2) ?? "null"}\n\`\`\``;
  return { type: "ai", content, id: randomUUID(), ...(name ? { name } : {}) };
}
