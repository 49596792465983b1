import {
  LocalChatModel,
  type LocalChatReply,
  type LocalChatRequest,
} from "../models/local-chat-model.js";
import { promptBlocks } from "../schemas/prompts.js";
import type { PlannedSection } from "../schemas/section.js";

/** One call the scripted model received. */
export interface RecordedCall {
  /** Text of every message, in order (system first). */
  messages: string[];
  /** The first user message's text: the planner's or the writer's task. */
  prompt: string;
  /** Tool the caller forced (structured output), if any. */
  toolChoice?: string;
  /** Names of the tools bound to the call. */
  tools: string[];
  /** Text of the tool results in the conversation so far. */
  toolResults: string[];
}

export interface ScriptedChatModelOptions {
  /** Sections the model plans when asked for structured output. */
  plan?: PlannedSection[];
  /** Structured-output answer to return instead of `{ sections: plan }` (may be invalid on purpose). */
  planAnswer?: unknown;
  /** A plan answer per planning call (0 for the first); wins over `planAnswer` when it returns one. */
  planAnswerFor?: (callIndex: number) => unknown;
  /**
   * Text for a section, from the worker's prompt (and the whole call, for prompts without a
   * `<Section name>` block, as a `createOrchestratorWorkers` worker's); defaults to `Body of <name>.`
   */
  write?: (sectionName: string, prompt: string, call: RecordedCall) => string;
  /** The aggregator's structured answer (synthesis: llm). */
  synthesisAnswer?: Record<string, unknown>;
  /**
   * The section reviewer's answer (sectionReview), from its call; defaults to a pass. Throw to
   * make the review fail.
   */
  reviewAnswer?: (call: RecordedCall) => Record<string, unknown>;
  /** The citation verifier's answer (verifyCitations: llm); defaults to no verdicts. */
  verificationAnswer?: (call: RecordedCall) => Record<string, unknown>;
  /** Answer a writing call differently (tool calls, say); undefined falls back to `write`. */
  act?: (call: RecordedCall) => LocalChatReply | undefined;
  /** Sections whose writing fails with an error (after the client's retries, as far as the graph sees). */
  failSections?: string[];
  /** Milliseconds to wait before answering, per call (to make workers finish out of order). */
  delayMs?: (call: RecordedCall) => number;
  /**
   * Something to wait for before answering, per call (after `delayMs`): a promise the test
   * resolves on an event, to fix the order in which workers finish without relying on timing.
   */
  waitFor?: (call: RecordedCall) => Promise<unknown> | undefined;
}

/**
 * A chat model for tests: scripted answers, and a record of every call it received. Calls are told
 * apart by the structured-output schema they force ("plan", "synthesis"), not by their text.
 */
export class ScriptedChatModel extends LocalChatModel {
  readonly model = "scripted";
  readonly calls: RecordedCall[] = [];
  /** Most calls that were in progress at once. */
  maxInFlight = 0;
  private inFlight = 0;

  constructor(private readonly options: ScriptedChatModelOptions = {}) {
    super({});
  }

  /** Calls that asked for a plan (forced structured output named "plan"). */
  get planCalls(): RecordedCall[] {
    return this.calls.filter((call) => call.toolChoice === "plan");
  }

  /** Calls that asked the aggregator for a synthesis. */
  get synthesisCalls(): RecordedCall[] {
    return this.calls.filter((call) => call.toolChoice === "synthesis");
  }

  /** Calls that asked the section reviewer for a review. */
  get reviewCalls(): RecordedCall[] {
    return this.calls.filter((call) => call.toolChoice === "review");
  }

  /** Calls that asked the citation verifier for verdicts. */
  get verificationCalls(): RecordedCall[] {
    return this.calls.filter((call) => call.toolChoice === "verification");
  }

  /** Calls that asked for section text. */
  get writeCalls(): RecordedCall[] {
    return this.calls.filter((call) => !call.toolChoice);
  }

  protected async reply(request: LocalChatRequest): Promise<LocalChatReply> {
    const messages = request.messages.map((message) => message.text);
    const call: RecordedCall = {
      messages,
      prompt: request.messages.find((message) => message.getType() === "human")?.text ?? "",
      toolChoice: request.toolChoice,
      tools: request.tools.map((tool) => tool.name),
      toolResults: request.messages
        .filter((message) => message.getType() === "tool")
        .map((message) => message.text),
    };
    this.calls.push(call);
    const delay = this.options.delayMs?.(call) ?? 0;
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
      await this.options.waitFor?.(call);
    } finally {
      this.inFlight -= 1;
    }
    if (request.toolChoice === "synthesis") {
      const args = this.options.synthesisAnswer ?? {
        introduction: "Intro.",
        transitions: [],
        conclusion: "Conclusion.",
      };
      return { toolCalls: [{ name: request.toolChoice, args }] };
    }
    if (request.toolChoice === "review") {
      const args = this.options.reviewAnswer?.(call) ?? {
        pass: true,
        feedback: "",
        followUpQueries: [],
      };
      return { toolCalls: [{ name: request.toolChoice, args }] };
    }
    if (request.toolChoice === "verification") {
      const args = this.options.verificationAnswer?.(call) ?? { verdicts: [] };
      return { toolCalls: [{ name: request.toolChoice, args }] };
    }
    if (request.toolChoice) {
      const args = this.options.planAnswerFor?.(this.planCalls.length - 1) ??
        this.options.planAnswer ?? { sections: this.options.plan ?? defaultPlan(3) };
      return { toolCalls: [{ name: request.toolChoice, args: args as Record<string, unknown> }] };
    }
    const acted = this.options.act?.(call);
    if (acted) return acted;
    const name = sectionNameOf(call.prompt) ?? "(none)";
    if (this.options.failSections?.includes(name)) throw new Error(`Scripted failure for ${name}`);
    return { content: this.options.write?.(name, call.prompt, call) ?? `Body of ${name}.` };
  }
}

/** A plan of `count` sections named "Part 1", "Part 2", ... */
export function defaultPlan(count: number): PlannedSection[] {
  return Array.from({ length: count }, (_, index) => ({
    name: `Part ${index + 1}`,
    description: `What part ${index + 1} covers.`,
  }));
}

/** The section name in a worker prompt, as `writerUserPrompt` writes it. */
export function sectionNameOf(prompt: string): string | undefined {
  return promptBlocks(prompt).get("Section name");
}
