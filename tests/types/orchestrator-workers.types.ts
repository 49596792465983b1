/**
 * Type tests of the builder, checked by `npm run typecheck` (never run): what a user's graph gives
 * back is typed by their subtask schema, their worker's result and their synthesizer's output.
 */
import { z } from "zod";
import { createOrchestratorWorkers } from "../../src/graph/orchestrator-workers.js";

const graph = createOrchestratorWorkers({
  subtask: z.object({ path: z.string() }),
  planner: () => [{ path: "a.ts" }],
  // The result's type is inferred from what the worker returns...
  worker: ({ subtask }) => ({ size: subtask.path.length }),
  // ...and reaches the synthesizer, whose value is the output's type.
  synthesize: ({ results }) => results.map((entry) => entry.result.size),
}).compile();

export async function typed(): Promise<void> {
  const out = await graph.invoke({ request: "x" }, { configurable: { maxConcurrency: 2 } });
  const path: string = out.plan!.subtasks[0]!.path;
  const size: number = out.results[0]!.result.size;
  const output: number[] = out.output;
  // @ts-expect-error the output is a list of numbers
  const wrong: string = out.output;
  void [path, size, output, wrong];
}

createOrchestratorWorkers({
  subtask: z.object({ path: z.string() }),
  // @ts-expect-error a planned subtask must have the schema's fields
  planner: () => [{ file: "a.ts" }],
  worker: () => null,
});
