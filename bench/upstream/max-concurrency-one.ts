/**
 * Upstream repro (bench/upstream/max-concurrency-one.md): with `maxConcurrency: 1`,
 * `PregelRunner._executeTasksWithRetry` in @langchain/langgraph runs only the first task of a
 * step. Its loop runs `while ((startedTasksCount === 0 || Object.keys(executingTasksMap).length > 0)
 * && tasks.length)`: after the first task settles the map is empty and a task has started, so the
 * loop ends, and the graph goes on as if the step's other tasks had run.
 *
 * Only the libraries as npm installs them. Run: `node --import tsx bench/upstream/max-concurrency-one.ts`.
 * Prints, per bound: the worker calls, the nodes that reported updates, and the final state.
 */
import { Annotation, END, Send, START, StateGraph } from "@langchain/langgraph";

const State = Annotation.Root({
  items: Annotation<number[]>(),
  done: Annotation<number[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
  report: Annotation<string>(),
});

let workerCalls = 0;
const graph = new StateGraph(State)
  .addNode("plan", () => ({}))
  .addNode("worker", ({ item }: { item: number }) => {
    workerCalls += 1;
    return { done: [item] };
  })
  .addNode("assemble", (state) => ({ report: `${state.done.length} of ${state.items.length}` }))
  .addEdge(START, "plan")
  .addConditionalEdges("plan", (state) => state.items.map((item) => new Send("worker", { item })), [
    "worker",
  ])
  .addEdge("worker", "assemble")
  .addEdge("assemble", END)
  .compile();

const items = [1, 2, 3, 4, 5];
console.log("maxConcurrency | worker calls | nodes that reported updates | final state");
for (const maxConcurrency of [1, 2, undefined]) {
  workerCalls = 0;
  const updated: string[] = [];
  let last: unknown;
  for await (const chunk of await graph.stream(
    { items },
    { maxConcurrency, streamMode: ["updates", "values"] },
  )) {
    const [mode, payload] = chunk as [string, Record<string, unknown>];
    if (mode === "updates") updated.push(...Object.keys(payload));
    else last = payload;
  }
  console.log(
    [maxConcurrency ?? "unset", workerCalls, updated.join(", "), JSON.stringify(last)].join(" | "),
  );
}
