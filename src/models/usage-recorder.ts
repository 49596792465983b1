import { BaseCallbackHandler } from "@langchain/core/callbacks/base";
import type { LLMResult } from "@langchain/core/outputs";
import { usageOf, type ModelCall } from "../schemas/usage.js";

/**
 * Records the token usage of every chat model call made inside one subtask's run (a callback
 * handler the core adds to a generic worker's config), so token budgets (`maxTotalTokens`) and
 * the usage of a run hold for any worker that calls LangChain chat models, without the worker
 * reporting anything. A usage number that is not a finite, non-negative count is "not reported".
 */
export class UsageRecorder extends BaseCallbackHandler {
  name = "orchestrator_workers_usage";
  // Recorded before the call returns, so the worker's update (and the budget check after it)
  // never misses a call that a slower handler ahead of this one in the queue is still holding.
  override awaitHandlers = true;
  private readonly models = new Map<string, string>();

  constructor(
    private readonly calls: ModelCall[],
    private readonly subtaskId: string,
  ) {
    super();
  }

  override handleChatModelStart(
    llm: { id?: string[] },
    _messages: unknown,
    runId: string,
    _parentRunId?: string,
    extraParams?: Record<string, unknown>,
    _tags?: string[],
    metadata?: Record<string, unknown>,
  ): void {
    const named =
      metadata?.ls_model_name ?? (extraParams?.invocation_params as { model?: unknown })?.model;
    this.models.set(runId, typeof named === "string" ? named : (llm.id?.at(-1) ?? "unknown"));
  }

  override handleLLMEnd(output: LLMResult, runId: string): void {
    const generation = output.generations[0]?.[0] as { message?: unknown } | undefined;
    const message = generation?.message as Parameters<typeof usageOf>[0];
    const model = this.models.get(runId) ?? "unknown";
    this.models.delete(runId);
    this.calls.push({ role: "worker", model, sectionId: this.subtaskId, ...usageOf(message) });
  }

  override handleLLMError(_error: unknown, runId: string): void {
    this.models.delete(runId);
  }
}
