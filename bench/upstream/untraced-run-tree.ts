/**
 * Upstream repro (bench/upstream/untraced-run-tree.md): with tracing off, @langchain/core's
 * `AsyncLocalStorageProvider.runWithConfig` builds a LangSmith `RunTree` for every runnable call,
 * only to carry the call's config and a "not traced" flag in async local storage.
 *
 * Only the libraries as npm installs them. Run: `node --import tsx bench/upstream/untraced-run-tree.ts`.
 * Tracing is switched off for the process (the LangSmith/LangChain tracing variables removed).
 * `RunTree`s are counted through a wrapper of the static `RunTree.getDefaultConfig`, which the
 * constructor calls once for each new run tree (not for the shallow copies it also makes).
 * Prints: what a runnable call stores, the `RunTree`s built per call and per LangGraph `Send`
 * task, what one costs, and their share of a zero-latency fan-out's CPU time.
 */
import { RunnableLambda } from "@langchain/core/runnables";
import { Annotation, END, Send, START, StateGraph } from "@langchain/langgraph";
import { RunTree, isRunTree } from "langsmith/run_trees";
import { getCurrentRunTree } from "langsmith/singletons/traceable";

for (const name of [
  "LANGSMITH_TRACING",
  "LANGSMITH_TRACING_V2",
  "LANGCHAIN_TRACING",
  "LANGCHAIN_TRACING_V2",
]) {
  delete process.env[name];
}

let built = 0;
// `getDefaultConfig` is private in the typings; it is a plain static method at run time.
const counted = RunTree as unknown as { getDefaultConfig: () => object };
const getDefaultConfig = counted.getDefaultConfig.bind(RunTree);
counted.getDefaultConfig = () => {
  built += 1;
  return getDefaultConfig();
};
async function counting<T>(work: () => Promise<T>): Promise<{ result: T; runTrees: number }> {
  built = 0;
  const result = await work();
  return { result, runTrees: built };
}

// 1. What one untraced call puts in async local storage.
const probe = await RunnableLambda.from(() => {
  const store = getCurrentRunTree(true) as unknown as { tracingEnabled?: boolean } | undefined;
  return { isRunTree: isRunTree(store), tracingEnabled: store?.tracingEnabled };
}).invoke(undefined);
console.log(
  `1. Inside an untraced RunnableLambda, the store holds a RunTree: ${probe.isRunTree} (tracingEnabled: ${probe.tracingEnabled})`,
);

// 2. Per runnable call.
const lambda = RunnableLambda.from((value: number) => value + 1);
const sequence = lambda.pipe(lambda).pipe(lambda);
const calls = 1000;
const one = await counting(async () => {
  for (let index = 0; index < calls; index += 1) await lambda.invoke(index);
});
const three = await counting(async () => {
  for (let index = 0; index < calls; index += 1) await sequence.invoke(index);
});
console.log(
  `2. RunTrees built: ${one.runTrees / calls} per RunnableLambda.invoke, ${three.runTrees / calls} per invoke of a sequence of three (${calls} invokes each)`,
);

/** CPU time (user + system, all threads) of `work`, in ms. */
function cpuMs(work: () => void): number {
  const cpu = process.cpuUsage();
  work();
  const used = process.cpuUsage(cpu);
  return (used.user + used.system) / 1000;
}

// 3. What one costs.
const samples = 20000;
const perRunTree =
  (cpuMs(() => {
    for (let index = 0; index < samples; index += 1) {
      new RunTree({ name: "<runnable_lambda>", tracingEnabled: false });
    }
  }) *
    1000) /
  samples;
console.log(
  `3. new RunTree({ name, tracingEnabled: false }): ${perRunTree.toFixed(1)} µs of CPU each (${samples} built)`,
);

// 4. A LangGraph Send fan-out whose node only returns its write.
const State = Annotation.Root({
  n: Annotation<number>(),
  done: Annotation<number>({ reducer: (a, b) => a + b, default: () => 0 }),
});
const graph = new StateGraph(State)
  .addNode("worker", () => ({ done: 1 }))
  .addConditionalEdges(
    START,
    (state) => Array.from({ length: state.n }, (_, index) => new Send("worker", { index })),
    ["worker"],
  )
  .addEdge("worker", END)
  .compile();
await graph.invoke({ n: 20 }, { maxConcurrency: 10 }); // warm-up, not measured
console.log("4. Send fan-out, maxConcurrency 10, tracing off");
console.log(
  "tasks | RunTrees built | per task | run wall ms | run CPU ms | RunTrees' share (count × µs each)",
);
for (const n of (process.argv[2] ?? "500,1000,2000,4000").split(",").map(Number)) {
  const { result, runTrees } = await counting(() => graph.invoke({ n }, { maxConcurrency: 10 }));
  if (result.done !== n) throw new Error(`expected ${n} tasks to run, ${result.done} did`);
  const wall = performance.now();
  const cpu = process.cpuUsage();
  await graph.invoke({ n }, { maxConcurrency: 10 });
  const used = process.cpuUsage(cpu);
  const wallMs = performance.now() - wall;
  const ms = (used.user + used.system) / 1000;
  const share = (runTrees * perRunTree) / 1000;
  console.log(
    [
      n,
      runTrees,
      (runTrees / n).toFixed(2),
      wallMs.toFixed(0),
      ms.toFixed(0),
      `${share.toFixed(0)} ms (${((100 * share) / ms).toFixed(0)}%)`,
    ].join(" | "),
  );
}
