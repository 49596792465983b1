/**
 * Upstream repro (bench/upstream/pending-writes.md): `PregelLoop.putWrites` in
 * @langchain/langgraph copies the step's whole list of pending writes (`filter`) for every task
 * that reports its writes, so a superstep of n `Send` tasks copies n lists of up to n·w entries.
 *
 * Only the libraries as npm installs them. Run: `node --import tsx bench/upstream/pending-writes.ts`.
 * `maxConcurrency: 10` keeps the task loop's own quadratic term (task-loop.md) out of the way.
 * Prints, per plan size: the copies of a pending-writes list and the entries they scanned, and
 * the time spent inside those `filter` calls (counted and timed through a wrapper of
 * `Array.prototype.filter`, in a run of its own), then the wall and CPU time of a run without the
 * wrapper (the better of two by CPU time).
 */
import { Annotation, END, Send, START, StateGraph } from "@langchain/langgraph";

const sum = () => Annotation<number>({ reducer: (a, b) => a + b, default: () => 0 });
const State = Annotation.Root({ n: Annotation<number>(), a: sum(), b: sum(), c: sum() });

// Each task writes three keys, as a worker that reports a result, its usage and a status would.
const graph = new StateGraph(State)
  .addNode("worker", () => ({ a: 1, b: 1, c: 1 }))
  .addConditionalEdges(
    START,
    (state) => Array.from({ length: state.n }, (_, index) => new Send("worker", { index })),
    ["worker"],
  )
  .addEdge("worker", END)
  .compile();

async function run(n: number): Promise<void> {
  const result = await graph.invoke({ n }, { maxConcurrency: 10 });
  if (result.a !== n) throw new Error(`expected ${n} tasks to run, ${result.a} did`);
}

/** A pending write as the loop keeps it: [task id, channel, value]. */
const isPendingWrite = (entry: unknown) =>
  Array.isArray(entry) &&
  entry.length === 3 &&
  typeof entry[0] === "string" &&
  /^[0-9a-f-]{36}$/.test(entry[0]) &&
  typeof entry[1] === "string";

async function countCopies(n: number) {
  const original = Array.prototype.filter;
  let copies = 0;
  let scanned = 0;
  let ms = 0;
  const counting = function (this: unknown[], ...args: Parameters<typeof original>) {
    if (this.length === 0 || !isPendingWrite(this[0]))
      return original.apply(this, args) as unknown[];
    copies += 1;
    scanned += this.length;
    const started = performance.now();
    const result = original.apply(this, args) as unknown[];
    ms += performance.now() - started;
    return result;
  };
  Array.prototype.filter = counting as typeof original;
  try {
    await run(n);
  } finally {
    Array.prototype.filter = original;
  }
  return { copies, scanned, ms };
}

/** Wall and CPU time (user + system, all threads) of `work`, best of `attempts` by CPU time. */
async function timed(work: () => Promise<unknown>, attempts = 2) {
  let best = { wall: Infinity, cpu: Infinity };
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    const wall = performance.now();
    const cpu = process.cpuUsage();
    await work();
    const used = process.cpuUsage(cpu);
    const sample = { wall: performance.now() - wall, cpu: (used.user + used.system) / 1000 };
    if (sample.cpu < best.cpu) best = sample;
  }
  return best;
}

const sizes = (process.argv[2] ?? "1000,2000,4000,8000").split(",").map(Number);
await run(50); // warm-up: module loading and JIT, not measured

console.log(
  "tasks | list copies | entries scanned | entries / task | ms in those filters | run wall ms | run CPU ms | CPU µs / task",
);
for (const n of sizes) {
  const { copies, scanned, ms: filterMs } = await countCopies(n);
  const { wall, cpu } = await timed(() => run(n));
  console.log(
    [
      n,
      copies,
      scanned,
      (scanned / n).toFixed(0),
      filterMs.toFixed(0),
      wall.toFixed(0),
      cpu.toFixed(0),
      ((cpu * 1000) / n).toFixed(0),
    ].join(" | "),
  );
}
