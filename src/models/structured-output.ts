import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import type { AIMessage, BaseMessage } from "@langchain/core/messages";
import type { ZodType } from "zod";
import { structuredOutputSchema } from "../schemas/json-schema.js";
import { usageOf, type Usage } from "../schemas/usage.js";
import { chatModelName } from "./chat-models.js";
import { isUnusableAnswerError } from "./retry-policy.js";

/** What a structured-output call brought back: a valid value, or why the answer is unusable. */
export type StructuredAnswer<T> = (
  | { value: T; problem?: undefined }
  | {
      value?: undefined;
      /** Why the answer cannot be used, for an error message. */
      problem: string;
      /** What came back, for debugging. */
      content: unknown;
    }
) & {
  /** Tokens of the call (zero when the answer never arrived whole). */
  usage: Usage;
  /** The model that answered. */
  model: string;
};

/**
 * The one structured-output call (plans, re-plans and the aggregator's synthesis): asks `model`
 * for an answer matching `schema` and validates it with the zod schema. The model receives the
 * schema as strict JSON schema (see `structuredOutputSchema`), so parsing happens in LangChain and,
 * with `includeRaw`, an unusable answer still comes back with its token usage. An answer that
 * arrived but cannot be used is returned with the `problem`, for the caller to re-ask or fall back;
 * transport failures (after the client's retries) are thrown.
 */
export async function askStructured<T>(options: {
  model: BaseChatModel;
  schema: ZodType<T>;
  /** The schema's name, as the model sees it ("plan", "synthesis"). */
  name: string;
  messages: BaseMessage[];
  callOptions?: { tags?: string[]; metadata?: Record<string, unknown> };
}): Promise<StructuredAnswer<T>> {
  const { model, schema, name, messages, callOptions } = options;
  const modelName = chatModelName(model);
  let answer: { raw: unknown; parsed: unknown };
  try {
    answer = await model
      .withStructuredOutput(structuredOutputSchema(schema), { name, includeRaw: true })
      .invoke(messages, callOptions);
  } catch (error) {
    if (!isUnusableAnswerError(error)) throw error;
    return {
      problem: (error as Error).message,
      content: (error as { llmOutput?: unknown }).llmOutput,
      usage: usageOf(undefined),
      model: modelName,
    };
  }
  const raw = answer.raw as AIMessage | undefined;
  const usage = usageOf(raw);
  if (answer.parsed === null || answer.parsed === undefined) {
    return { problem: "it could not be parsed", content: raw?.content, usage, model: modelName };
  }
  const result = schema.safeParse(answer.parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    return {
      problem: `${issue?.path.join(".") || name}: ${issue?.message ?? "invalid"}`,
      content: answer.parsed,
      usage,
      model: modelName,
    };
  }
  return { value: result.data, usage, model: modelName };
}
