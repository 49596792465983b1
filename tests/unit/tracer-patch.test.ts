import type { CallbackManager } from "@langchain/core/callbacks/manager";
import { RunnableLambda, type RunnableConfig } from "@langchain/core/runnables";
import { LangChainTracer } from "@langchain/core/tracers/tracer_langchain";
import { Client } from "langsmith";
import { startLangSmithReceiver, type LangSmithReceiver } from "../helpers/langsmith-receiver.js";

/**
 * patches/@langchain+core+1.4.0.patch (bench/NOTES.md §7): LangChain's tracer, for each run it
 * starts, copied the parent's run tree with a copy of every child the parent had so far, so a run
 * with n children cost O(n²) run-tree copies (20 s and 1.2 GB for 1,000 traced sections). Patched,
 * the parent link carries no copied children, and the trace is the same.
 */
describe("the @langchain/core tracer patch", () => {
  let receiver: LangSmithReceiver;
  afterEach(async () => receiver?.close());

  test("a child's link to its parent copies none of its siblings, and every child is still traced once under the parent", async () => {
    receiver = await startLangSmithReceiver();
    const client = new Client({ apiUrl: receiver.endpoint, apiKey: "test-key" });
    const tracer = new LangChainTracer({ client, projectName: "patch-test" });
    const siblingsCopied: number[] = [];
    const child = RunnableLambda.from((index: number, config?: RunnableConfig) => {
      const runId = (config?.callbacks as CallbackManager | undefined)?.getParentRunId();
      const run = runId ? tracer.getRun(runId) : undefined;
      const parentLink = (run as { parent_run?: { child_runs: unknown[] } } | undefined)
        ?.parent_run;
      siblingsCopied.push(parentLink?.child_runs.length ?? -1);
      return index;
    }).withConfig({ runName: "child" });
    const parent = RunnableLambda.from(async (count: number, config?: RunnableConfig) => {
      for (let index = 0; index < count; index += 1) await child.invoke(index, config);
      return count;
    }).withConfig({ runName: "parent" });

    await parent.invoke(40, { callbacks: [tracer] });
    await client.awaitPendingTraceBatches();

    expect(siblingsCopied).toHaveLength(40);
    // Unpatched: 0, 1, 2, ... 39 (every earlier sibling copied again).
    expect(Math.max(...siblingsCopied)).toBe(0);
    const runs = receiver.runs();
    const parentRun = runs.find((run) => run.name === "parent");
    expect(parentRun).toBeDefined();
    const children = runs.filter((run) => run.name === "child");
    expect(new Set(children.map((run) => run.id)).size).toBe(40);
    expect(children.every((run) => run.parent_run_id === parentRun!.id)).toBe(true);
  });
});
