/**
 * Upstream repro (bench/upstream/state-validation.md): for a graph whose state is a zod object,
 * `validateStateUpdates` in @langchain/langgraph (`CompiledStateGraph.attachNode`) builds two new
 * partial schemas of the whole state on every node update, and zod 4 compiles a fast path for
 * each on its first parse. The cost is per update and grows with the size of the state schema.
 *
 * Only the libraries as npm installs them. Run: `node --import tsx bench/upstream/state-validation.ts`.
 * Prints:
 * 1. per state size and plan size, the partial-schema builds in a run (counted through a wrapper
 *    of `schemaMetaRegistry.getExtendedChannelSchemas`, which `validateStateUpdates` calls once
 *    per update before building the pair) and the run's time, against the same graph with an
 *    `Annotation` state (no validation), in CPU time (best of three, in turns);
 * 2. what one update's validation costs as LangGraph does it (build the pair, then parse) and
 *    with the pair built once (the proposed fix), using the same library functions.
 */
import { Annotation, END, Send, START, StateGraph } from "@langchain/langgraph";
import { registry, schemaMetaRegistry } from "@langchain/langgraph/zod";
import { interopParse, interopZodObjectPartial } from "@langchain/core/utils/types";
import { z } from "zod";

const Item = z.object({ id: z.string(), title: z.string(), notes: z.array(z.string()) });

/** A zod state with `keys` fields besides `n` and the reduced `done` counter. */
function zodState(keys: number) {
  const shape: Record<string, z.ZodType> = {
    n: z.number(),
    done: z
      .number()
      .register(registry, { reducer: { fn: (a: number, b: number) => a + b }, default: () => 0 }),
  };
  for (let index = 0; index < keys; index += 1) {
    shape[`field${index}`] = index % 2 === 0 ? z.array(Item).optional() : z.string().optional();
  }
  return z.object(shape);
}

function zodGraph(keys: number) {
  return new StateGraph(zodState(keys))
    .addNode("worker", () => ({ done: 1 }))
    .addConditionalEdges(
      START,
      (state) =>
        Array.from({ length: state.n as number }, (_, index) => new Send("worker", { index })),
      ["worker"],
    )
    .addEdge("worker", END)
    .compile();
}

function annotationGraph(keys: number) {
  const spec: Parameters<typeof Annotation.Root>[0] = {
    n: Annotation<unknown>(),
    done: Annotation<unknown>({
      reducer: (a, b) => (a as number) + (b as number),
      default: () => 0,
    }),
  };
  for (let index = 0; index < keys; index += 1) spec[`field${index}`] = Annotation<unknown>();
  return new StateGraph(Annotation.Root(spec))
    .addNode("worker", () => ({ done: 1 }))
    .addConditionalEdges(
      START,
      (state) =>
        Array.from({ length: state.n as number }, (_, index) => new Send("worker", { index })),
      ["worker"],
    )
    .addEdge("worker", END)
    .compile();
}

type Runnable = { invoke(input: { n: number }, config: object): Promise<Record<string, unknown>> };

/** CPU time (user + system, all threads) of `work`, in ms. */
async function cpuMs(work: () => Promise<unknown>): Promise<number> {
  const cpu = process.cpuUsage();
  await work();
  const used = process.cpuUsage(cpu);
  return (used.user + used.system) / 1000;
}

async function run(graph: Runnable, n: number): Promise<void> {
  const result = await graph.invoke({ n }, { maxConcurrency: 10 });
  if (result.done !== n) throw new Error(`expected ${n} tasks to run, ${String(result.done)} did`);
}

async function builds(graph: Runnable, n: number): Promise<number> {
  const original = schemaMetaRegistry.getExtendedChannelSchemas.bind(schemaMetaRegistry);
  let calls = 0;
  schemaMetaRegistry.getExtendedChannelSchemas = (...args: Parameters<typeof original>) => {
    calls += 1;
    return original(...args);
  };
  try {
    await run(graph, n);
  } finally {
    schemaMetaRegistry.getExtendedChannelSchemas = original;
  }
  return calls;
}

const keySizes = [4, 16, 48];
const planSizes = (process.argv[2] ?? "500,2000").split(",").map(Number);
await run(zodGraph(4), 20); // warm-up: module loading and JIT, not measured
await run(annotationGraph(4), 20);

console.log("1. A Send fan-out, one update per task, maxConcurrency 10");
console.log(
  "state keys | tasks | update-schema builds | zod state CPU ms | Annotation state CPU ms | extra CPU µs / task",
);
for (const keys of keySizes) {
  for (const n of planSizes) {
    const zod = zodGraph(keys);
    const annotation = annotationGraph(keys);
    const count = await builds(zod, n);
    // In turns, the best of three each, so that other work on the machine hits both alike.
    let zodMs = Infinity;
    let annotationMs = Infinity;
    for (let attempt = 0; attempt < 3; attempt += 1) {
      zodMs = Math.min(zodMs, await cpuMs(() => run(zod, n)));
      annotationMs = Math.min(annotationMs, await cpuMs(() => run(annotation, n)));
    }
    console.log(
      [
        keys + 2,
        n,
        count,
        zodMs.toFixed(0),
        annotationMs.toFixed(0),
        (((zodMs - annotationMs) * 1000) / n).toFixed(0),
      ].join(" | "),
    );
  }
}

console.log("\n2. One update's validation as validateStateUpdates does it, CPU µs per update");
console.log("state keys | pair built once (the fix) | pair rebuilt each update (1.7.3) | ratio");
const perUpdate = (ms: number, updates: number) => (ms * 1000) / updates;
for (const keys of keySizes) {
  const schema = zodState(keys);
  const update = { done: 1 };
  const updateSchema = interopZodObjectPartial(
    schemaMetaRegistry.getExtendedChannelSchemas(schema, { withReducerSchema: true }),
  );
  interopParse(updateSchema, update); // its one compilation, outside the loop
  const cached = 20000;
  const once = perUpdate(
    await cpuMs(() => {
      for (let index = 0; index < cached; index += 1) interopParse(updateSchema, update);
      return Promise.resolve();
    }),
    cached,
  );
  const rebuiltUpdates = 2000;
  const rebuilt = perUpdate(
    await cpuMs(() => {
      for (let index = 0; index < rebuiltUpdates; index += 1) {
        const fresh = interopZodObjectPartial(
          schemaMetaRegistry.getExtendedChannelSchemas(schema, { withReducerSchema: true }),
        );
        interopZodObjectPartial(schema); // the value schema, built alongside (used for Overwrite)
        interopParse(fresh, update);
      }
      return Promise.resolve();
    }),
    rebuiltUpdates,
  );
  console.log(
    [keys + 2, once.toFixed(2), rebuilt.toFixed(0), `${(rebuilt / once).toFixed(0)}x`].join(" | "),
  );
}
