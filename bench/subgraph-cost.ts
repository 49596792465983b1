/**
 * What a compiled subgraph per subtask costs: the same zero-latency generic graph with a function
 * worker and with a three-node subgraph worker (`checkpointer: false`), side by side. Why the
 * report's section steps are a subgraph only under section review (bench/NOTES.md, §12).
 * Run: `node --import tsx bench/subgraph-cost.ts [subtasks]`.
 */
import { END, START, StateGraph } from "@langchain/langgraph";
import { z } from "zod";
import { createOrchestratorWorkers } from "../src/graph/orchestrator-workers.js";

const count = Number(process.argv[2] ?? 1000);
const Subtask = z.object({ name: z.string() });
const State = z.object({
  request: z.string(),
  subtask: Subtask.extend({ id: z.string() }),
  dependencies: z.array(z.unknown()),
  content: z.string().optional(),
  result: z.string().optional(),
});
const steps = new StateGraph(State)
  .addNode("write", (state) => ({ content: state.subtask.name }))
  .addNode("review", () => ({}))
  .addNode("verify", (state) => ({ result: state.content }))
  .addEdge(START, "write")
  .addEdge("write", "review")
  .addEdge("review", "verify")
  .addEdge("verify", END)
  .compile({ checkpointer: false });

async function measure(kind: "function" | "subgraph"): Promise<number> {
  const graph = createOrchestratorWorkers({
    subtask: Subtask,
    planner: () => Array.from({ length: count }, (_, index) => ({ name: `n${index}` })),
    worker: kind === "function" ? ({ subtask }) => subtask.name : steps,
  }).compile();
  const started = performance.now();
  await graph.invoke(
    { request: "measure" },
    { configurable: { maxSections: count, maxConcurrency: count } },
  );
  return performance.now() - started;
}

for (const kind of ["function", "subgraph", "function", "subgraph"] as const) {
  console.log(`${kind}: ${count} subtasks in ${Math.round(await measure(kind))} ms`);
}
