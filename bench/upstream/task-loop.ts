/**
 * Upstream repro (bench/upstream/task-loop.md): `PregelRunner._executeTasksWithRetry` in
 * @langchain/langgraph races every running task again after each one settles, so a superstep of
 * n `Send` tasks with k running costs O(n·k) promise reactions.
 *
 * Only the libraries as npm installs them. Run: `node --import tsx bench/upstream/task-loop.ts`.
 * Prints, per plan size, the races the loop starts and the promises they hold in total (counted
 * through a wrapper of `Promise.race`, in a run of its own), and the time of a run without the
 * wrapper (wall and CPU time, the better of two runs by CPU time), with no bound on running tasks
 * and with `maxConcurrency: 10`.
 */
import { Annotation, END, Send, START, StateGraph } from "@langchain/langgraph";

const State = Annotation.Root({
  n: Annotation<number>(),
  // A number, not a list: a list reducer would copy the list once per write and hide the loop.
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

async function run(n: number, maxConcurrency: number | undefined): Promise<number> {
  const result = await graph.invoke({ n }, maxConcurrency ? { maxConcurrency } : {});
  if (result.done !== n) throw new Error(`expected ${n} tasks to run, ${result.done} did`);
  return result.done;
}

async function countRaces(n: number, maxConcurrency: number | undefined) {
  const original = Promise.race.bind(Promise);
  let races = 0;
  let widest = 0;
  let total = 0;
  Promise.race = (<T>(values: Iterable<T>) => {
    const list = [...values];
    races += 1;
    widest = Math.max(widest, list.length);
    total += list.length;
    return original(list);
  }) as typeof Promise.race;
  try {
    await run(n, maxConcurrency);
  } finally {
    Promise.race = original;
  }
  return { races, widest, total };
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

const sizes = (process.argv[2] ?? "500,1000,2000,4000").split(",").map(Number);
await run(50, undefined); // warm-up: module loading and JIT, not measured

console.log(
  "tasks | bound | races | widest race | promises raced | promises raced / task | wall ms | CPU ms | CPU µs / task",
);
for (const n of sizes) {
  for (const bound of [undefined, 10]) {
    const { races, widest, total } = await countRaces(n, bound);
    const { wall, cpu } = await timed(() => run(n, bound));
    console.log(
      [
        n,
        bound ?? "none",
        races,
        widest,
        total,
        (total / n).toFixed(1),
        wall.toFixed(0),
        cpu.toFixed(0),
        ((cpu * 1000) / n).toFixed(0),
      ].join(" | "),
    );
  }
}
