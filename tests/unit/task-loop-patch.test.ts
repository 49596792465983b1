import {
  Annotation,
  END,
  MemorySaver,
  START,
  StateGraph,
  entrypoint,
  task,
} from "@langchain/langgraph";
import { buildGraph } from "../../src/graph/graph.js";
import { ScriptedChatModel, defaultPlan } from "../../src/testing/index.js";

/**
 * patches/@langchain+langgraph+1.7.3.patch, third part (bench/NOTES.md §1): LangGraph's task loop
 * raced all running tasks again after every task that settled (`Promise.race` over k promises,
 * each keeping a reaction from every race), so a step of n tasks with k running cost O(n·k): with
 * maxConcurrency raised to 1,000 the graph took twice the plain Promise.all's time. Patched, each
 * task's promise reports once to a queue the loop takes from. Counted here: the widest race the
 * loop starts during a run, through the test's own wrapper of `Promise.race`, removed after.
 */
describe("the @langchain/langgraph task-loop patch", () => {
  async function widestRace<T>(work: () => Promise<T>): Promise<{ result: T; widest: number }> {
    const original = Promise.race.bind(Promise);
    let widest = 0;
    Promise.race = (<V>(values: Iterable<V>) => {
      const list = [...values];
      widest = Math.max(widest, list.length);
      return original(list);
    }) as typeof Promise.race;
    try {
      return { result: await work(), widest };
    } finally {
      Promise.race = original;
    }
  }

  test("the loop does not race every running task after each one settles", async () => {
    const graph = buildGraph({ model: new ScriptedChatModel() });
    const { result, widest } = await widestRace(() =>
      graph.invoke(
        { topic: "Tides", sections: defaultPlan(60) },
        { configurable: { maxConcurrency: 20, maxSections: 60 } },
      ),
    );
    expect(result.completedSections).toHaveLength(60);
    // Unpatched: the 20 running tasks, the abort signal and the barrier (22).
    expect(widest).toBeLessThanOrEqual(3);
  });

  test("tasks a node starts while it runs (the functional API) are still awaited, and a failure still surfaces", async () => {
    const double = task("double", async (value: number) => {
      await new Promise((resolve) => setTimeout(resolve, value % 3));
      if (value === 13) throw new Error("thirteen");
      return value * 2;
    });
    const all = entrypoint({ name: "all", checkpointer: new MemorySaver() }, (values: number[]) =>
      Promise.all(values.map((value) => double(value))),
    );
    const values = Array.from({ length: 30 }, (_, index) => index);
    const config = (id: string) => ({ configurable: { thread_id: id } });
    const ok = values.filter((value) => value !== 13);
    expect(await all.invoke(ok, config("ok"))).toEqual(ok.map((value) => value * 2));
    const error = (await all
      .invoke(values, config("failing"))
      .catch((caught: unknown) => caught)) as {
      message: string;
      errors?: { message: string }[];
    };
    // Unpatched the same: LangGraph's "Multiple errors occurred during superstep 0", with the failure.
    const messages = [error.message, ...(error.errors ?? []).map((each) => each.message)];
    expect(messages.some((message) => message.includes("thirteen"))).toBe(true);
  });

  test("a node's error handler, started when the step's last task fails, still runs", async () => {
    const State = Annotation.Root({
      log: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
    });
    const graph = new StateGraph(State)
      .addNode(
        "bad",
        () => {
          throw new Error("boom");
        },
        {
          errorHandler: (_state: unknown, { error }: { error: Error }) => ({
            log: [`handled: ${error.message}`],
          }),
        },
      )
      .addEdge(START, "bad")
      .addEdge("bad", END)
      .compile();
    // Before the fix of the patch (a review finding): undefined, the handler never awaited.
    expect(await graph.invoke({})).toEqual({ log: ["handled: boom"] });
  });
});
