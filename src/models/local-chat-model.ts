import {
  BaseChatModel,
  type BaseChatModelCallOptions,
  type BaseChatModelParams,
  type BindToolsInput,
} from "@langchain/core/language_models/chat_models";
import type {
  BaseLanguageModelInput,
  StructuredOutputMethodOptions,
} from "@langchain/core/language_models/base";
import { AIMessage, AIMessageChunk, type BaseMessage } from "@langchain/core/messages";
import { ChatGenerationChunk, type ChatResult } from "@langchain/core/outputs";
import type { CallbackManagerForLLMRun } from "@langchain/core/callbacks/manager";
import { Runnable, RunnableLambda } from "@langchain/core/runnables";
import { OutputParserException } from "@langchain/core/output_parsers";
import { convertToOpenAITool } from "@langchain/core/utils/function_calling";
import { toJsonSchema } from "@langchain/core/utils/json_schema";
import { interopSafeParseAsync, isInteropZodSchema } from "@langchain/core/utils/types";

/** A tool as a local model sees it: a name, a description and the JSON schema of its arguments. */
export interface LocalToolDefinition {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

/** Call options of a local chat model: the tools bound to it and which one it must call. */
export interface LocalChatModelCallOptions extends BaseChatModelCallOptions {
  tools?: BindToolsInput[];
  /** Name of the tool the model must call (forced tool choice), as structured output uses. */
  toolChoice?: string;
}

/** One request to a local model, in plain terms. */
export interface LocalChatRequest {
  messages: BaseMessage[];
  tools: LocalToolDefinition[];
  /** Name of the tool the model must call, when the caller forces one. */
  toolChoice?: string;
}

/** A local model's answer: text, or tool calls with their arguments. */
export type LocalChatReply =
  | { content: string; toolCalls?: undefined }
  | { content?: string; toolCalls: { name: string; args: Record<string, unknown> }[] };

let toolCallCounter = 0;

/**
 * Base of the in-process chat models (the offline model and the tests' scripted model): a real
 * `BaseChatModel`, with tool binding, token streaming, usage metadata and validated structured
 * output, whose answers come from `reply`.
 */
export abstract class LocalChatModel extends BaseChatModel<
  LocalChatModelCallOptions,
  AIMessageChunk
> {
  /** Name reported as the model that wrote a section. */
  abstract readonly model: string;

  constructor(fields: BaseChatModelParams = {}) {
    super(fields);
  }

  /** Produces the answer to one request. */
  protected abstract reply(request: LocalChatRequest): Promise<LocalChatReply> | LocalChatReply;

  override bindTools(
    tools: BindToolsInput[],
    kwargs?: Partial<LocalChatModelCallOptions>,
  ): Runnable<BaseLanguageModelInput, AIMessageChunk, LocalChatModelCallOptions> {
    return this.withConfig({ ...kwargs, tools });
  }

  /**
   * Structured output through a forced tool call, validated against the schema: an answer that
   * does not match fails with an `OutputParserException`, as a provider's parser would.
   */
  override withStructuredOutput(
    outputSchema: object,
    config?: StructuredOutputMethodOptions<boolean>,
    // The base class declares one overload per schema kind; one implementation serves them all.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
  ): Runnable<BaseLanguageModelInput, any> {
    const name = config?.name ?? "extract";
    const parameters = isInteropZodSchema(outputSchema) ? toJsonSchema(outputSchema) : outputSchema;
    const bound = this.withConfig({
      tools: [{ type: "function", function: { name, description: "", parameters } }],
      toolChoice: name,
    });
    const parse = RunnableLambda.from(async (message: AIMessageChunk) => {
      const call = message.tool_calls?.find((toolCall) => toolCall.name === name);
      if (!call) throw new OutputParserException(`The model did not call "${name}".`);
      if (!isInteropZodSchema(outputSchema)) return call.args;
      const result = await interopSafeParseAsync(outputSchema, call.args);
      if (!result.success) {
        throw new OutputParserException(
          `The model's "${name}" output does not match the schema: ${describeIssues(result.error.issues)}`,
          JSON.stringify(call.args),
        );
      }
      return result.data as Record<string, unknown>;
    });
    if (!config?.includeRaw) return bound.pipe(parse);
    return bound.pipe(
      RunnableLambda.from(async (raw: AIMessageChunk) => ({
        raw,
        parsed: await parse.invoke(raw),
      })),
    );
  }

  override _llmType(): string {
    return "local";
  }

  override async _generate(
    messages: BaseMessage[],
    options: this["ParsedCallOptions"],
  ): Promise<ChatResult> {
    const message = toMessage(await this.reply(this.toRequest(messages, options)), messages);
    return { generations: [{ text: textOf(message), message }] };
  }

  override async *_streamResponseChunks(
    messages: BaseMessage[],
    options: this["ParsedCallOptions"],
    runManager?: CallbackManagerForLLMRun,
  ): AsyncGenerator<ChatGenerationChunk> {
    const message = toMessage(await this.reply(this.toRequest(messages, options)), messages);
    const text = textOf(message);
    // Text streams word by word; tool calls arrive whole in the last chunk.
    const pieces = text.match(/\S+\s*|\s+/g) ?? [];
    for (const piece of pieces) {
      const chunk = new ChatGenerationChunk({ text: piece, message: new AIMessageChunk(piece) });
      yield chunk;
      await runManager?.handleLLMNewToken(piece, undefined, undefined, undefined, undefined, {
        chunk,
      });
    }
    yield new ChatGenerationChunk({
      text: "",
      message: new AIMessageChunk({
        content: "",
        tool_call_chunks: message.tool_calls?.map((call, index) => ({
          type: "tool_call_chunk" as const,
          id: call.id,
          name: call.name,
          args: JSON.stringify(call.args),
          index,
        })),
        usage_metadata: message.usage_metadata,
      }),
    });
  }

  private toRequest(messages: BaseMessage[], options: LocalChatModelCallOptions): LocalChatRequest {
    const tools = (options.tools ?? []).map((tool) => {
      const { function: definition } = convertToOpenAITool(tool);
      return {
        name: definition.name,
        description: definition.description ?? "",
        parameters: definition.parameters ?? {},
      };
    });
    return { messages, tools, toolChoice: options.toolChoice };
  }
}

function toMessage(reply: LocalChatReply, messages: BaseMessage[]): AIMessage {
  const content = reply.content ?? "";
  const inputTokens = messages.reduce((sum, message) => sum + countTokens(message.text), 0);
  const outputTokens =
    countTokens(content) +
    (reply.toolCalls ?? []).reduce((sum, call) => sum + countTokens(JSON.stringify(call.args)), 0);
  return new AIMessage({
    content,
    tool_calls: reply.toolCalls?.map((call) => ({
      type: "tool_call" as const,
      id: `call_${++toolCallCounter}`,
      name: call.name,
      args: call.args,
    })),
    usage_metadata: {
      input_tokens: inputTokens,
      output_tokens: outputTokens,
      total_tokens: inputTokens + outputTokens,
    },
  });
}

function describeIssues(issues: { path: PropertyKey[]; message: string }[]): string {
  return issues
    .map((issue) => `${issue.path.map(String).join(".") || "(root)"}: ${issue.message}`)
    .join("; ");
}

function textOf(message: AIMessage): string {
  return typeof message.content === "string" ? message.content : message.text;
}

/** A rough token count (about four characters a token), enough for usage metadata of local models. */
function countTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
