/**
 * The bench's one zero-latency chat model, used for the floor, the baseline and the project alike,
 * so the zero-latency rows compare the orchestration only. No project code: a plain
 * `BaseChatModel` from @langchain/core that answers at once. Asked for structured output (a bound
 * tool, which is how `BaseChatModel.withStructuredOutput` asks), it calls that tool with a plan of
 * `sections` sections, `{ name, description }` each; asked anything else, it answers a short
 * section text. Every answer reports a small token usage, as a provider's would.
 */
import {
  BaseChatModel,
  type BaseChatModelCallOptions,
  type BindToolsInput,
} from "@langchain/core/language_models/chat_models";
import type { BaseLanguageModelInput } from "@langchain/core/language_models/base";
import { AIMessageChunk, type BaseMessage } from "@langchain/core/messages";
import type { ChatResult } from "@langchain/core/outputs";
import type { Runnable } from "@langchain/core/runnables";

interface ZeroLatencyCallOptions extends BaseChatModelCallOptions {
  tools?: BindToolsInput[];
}

const SECTION_TEXT = "Tides rise and fall twice a day as the moon's gravity pulls on the oceans.";
const usage = { input_tokens: 40, output_tokens: 20, total_tokens: 60 };

/** A plan of `count` sections named "Part 1", "Part 2", ... */
export function planOf(count: number): { sections: { name: string; description: string }[] } {
  return {
    sections: Array.from({ length: count }, (_, index) => ({
      name: `Part ${index + 1}`,
      description: `What part ${index + 1} covers.`,
    })),
  };
}

export class ZeroLatencyChatModel extends BaseChatModel<ZeroLatencyCallOptions, AIMessageChunk> {
  readonly model = "zero-latency";
  private calls = 0;

  constructor(private readonly sections: number) {
    super({});
  }

  override _llmType(): string {
    return "zero-latency";
  }

  override bindTools(
    tools: BindToolsInput[],
    kwargs?: Partial<ZeroLatencyCallOptions>,
  ): Runnable<BaseLanguageModelInput, AIMessageChunk, ZeroLatencyCallOptions> {
    return this.withConfig({ ...kwargs, tools });
  }

  override _generate(
    _messages: BaseMessage[],
    options: this["ParsedCallOptions"],
  ): Promise<ChatResult> {
    this.calls += 1;
    const tool = options.tools?.[0] as { function?: { name?: string }; name?: string } | undefined;
    const name = tool?.function?.name ?? tool?.name;
    const message = name
      ? new AIMessageChunk({
          content: "",
          tool_calls: [
            { name, args: planOf(this.sections), id: `call_${this.calls}`, type: "tool_call" },
          ],
          usage_metadata: usage,
        })
      : new AIMessageChunk({ content: SECTION_TEXT, usage_metadata: usage });
    return Promise.resolve({ generations: [{ text: name ? "" : SECTION_TEXT, message }] });
  }
}
