import { buildGraph } from "../../src/graph/graph.js";
import { ScriptedChatModel, defaultPlan } from "../../src/testing/index.js";

/**
 * patches/@langchain+langgraph+1.7.3.patch, second part (bench/NOTES.md §6): for every task's
 * writes, LangGraph's loop copied the step's whole list of pending writes without that task's
 * (`filter`), so a step of n `Send` tasks made n copies of a list of up to n writes: O(n²), 10 s of
 * a 10,000-section run. Patched, it copies only when that task already has writes there. Counted
 * here: the copies of a list of pending writes (`[taskId, channel, value]` entries) during a run,
 * through the test's own wrapper of `Array.prototype.filter`, removed after.
 */
describe("the @langchain/langgraph pending-writes patch", () => {
  const pendingWrite = (entry: unknown) =>
    Array.isArray(entry) &&
    entry.length === 3 &&
    typeof entry[0] === "string" &&
    /^[0-9a-f-]{36}$/.test(entry[0]) &&
    typeof entry[1] === "string";

  test("a step's pending writes are not copied once per task", async () => {
    const original = Array.prototype.filter;
    let copies = 0;
    const counting = function (this: unknown[], ...args: Parameters<typeof original>) {
      if (this.length > 0 && pendingWrite(this[0])) copies += 1;
      return original.apply(this, args) as unknown[];
    };
    const run = async (sections: number) => {
      const graph = buildGraph({ model: new ScriptedChatModel() });
      copies = 0;
      Array.prototype.filter = counting as typeof original;
      try {
        const result = await graph.invoke({ topic: "Tides", sections: defaultPlan(sections) });
        expect(result.completedSections).toHaveLength(sections);
      } finally {
        Array.prototype.filter = original;
      }
      return copies;
    };
    const few = await run(2);
    const many = await run(60);
    // Unpatched: at least one copy per task (60 more).
    expect(many - few).toBeLessThan(10);
  });
});
