import type { RunnableConfig } from "@langchain/core/runnables";

/** Tag on every run of this graph, so its traces are easy to find in LangSmith. */
export const TRACE_TAG = "orchestrator-workers";

interface AnnotatableRun {
  extra?: { metadata?: Record<string, unknown> } & Record<string, unknown>;
  tags?: string[];
}

/**
 * Adds metadata and tags to the run of the node that is executing. Send-based tasks cannot carry
 * per-task metadata into LangGraph, so a worker names its section this way: the tracer sends the
 * run's metadata and tags when the run ends, and LangSmith shows them on the worker's run.
 */
export function annotateNodeRun(
  config: RunnableConfig,
  annotation: { metadata: Record<string, unknown>; tags?: string[] },
): void {
  const callbacks = config.callbacks;
  if (!callbacks || Array.isArray(callbacks)) return;
  const runId = callbacks.getParentRunId?.();
  if (!runId) return;
  for (const handler of callbacks.handlers) {
    const run = (handler as { getRun?: (id: string) => AnnotatableRun | undefined }).getRun?.(
      runId,
    );
    if (!run) continue;
    run.extra = { ...run.extra, metadata: { ...run.extra?.metadata, ...annotation.metadata } };
    if (annotation.tags) run.tags = [...(run.tags ?? []), ...annotation.tags];
  }
}
