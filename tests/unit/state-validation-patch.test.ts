import { jest } from "@jest/globals";
import { schemaMetaRegistry } from "@langchain/langgraph/zod";
import { buildGraph } from "../../src/graph/graph.js";
import { ScriptedChatModel, defaultPlan } from "../../src/testing/index.js";

/**
 * patches/@langchain+langgraph+1.7.3.patch (bench/NOTES.md §2): for a zod state, LangGraph built
 * two new partial schemas of the whole state on every node update (and zod compiled a fast path
 * for each on its first parse), so every section paid for the state schema's construction.
 * Patched, each node builds them once. Counted here through the registry call that builds the
 * update schema (the spy is the test's own, removed after).
 */
describe("the @langchain/langgraph state-validation patch", () => {
  test("the update schemas are built a bounded number of times, however many sections are written", async () => {
    const spy = jest.spyOn(schemaMetaRegistry, "getExtendedChannelSchemas");
    try {
      const builds = async (sections: number) => {
        const graph = buildGraph({ model: new ScriptedChatModel() });
        spy.mockClear();
        const result = await graph.invoke({ topic: "Tides", sections: defaultPlan(sections) });
        expect(result.completedSections).toHaveLength(sections);
        return spy.mock.calls.length;
      };
      const few = await builds(2);
      const many = await builds(40);
      // Unpatched: at least one more build per section (every worker's update).
      expect(many).toBe(few);
    } finally {
      spy.mockRestore();
    }
  });
});
