import { MemorySaver } from "@langchain/langgraph";
import { headings } from "../helpers/report.js";
import { buildGraph } from "../../src/graph/graph.js";
import { ScriptedChatModel, defaultPlan } from "../../src/testing/index.js";

describe("re-running a thread", () => {
  test("after failures, only the failed sections are written again", async () => {
    const checkpointer = new MemorySaver();
    const config = { configurable: { thread_id: "retry-failed" } };
    const failing = new ScriptedChatModel({
      plan: defaultPlan(4),
      failSections: ["Part 2", "Part 4"],
    });
    const first = await buildGraph({ model: failing, checkpointer }).invoke(
      { topic: "Tides" },
      config,
    );
    expect(first.failedSections.map((section) => section.id)).toEqual(["s2", "s4"]);

    const healthy = new ScriptedChatModel({ plan: defaultPlan(4) });
    const second = await buildGraph({ model: healthy, checkpointer }).invoke(
      { topic: "Tides" },
      config,
    );
    expect(healthy.planCalls).toHaveLength(0);
    expect(healthy.writeCalls.map((call) => /Part \d/.exec(call.prompt)?.[0]).sort()).toEqual([
      "Part 2",
      "Part 4",
    ]);
    expect(second.failedSections).toEqual([]);
    expect(second.completedSections.map((section) => section.id).sort()).toEqual([
      "s1",
      "s2",
      "s3",
      "s4",
    ]);
    expect(headings(second.report)).toEqual(["Part 1", "Part 2", "Part 3", "Part 4"]);
    expect(second.report).not.toMatch(/missing/);
  });

  test("a finished thread re-runs without any model call", async () => {
    const checkpointer = new MemorySaver();
    const config = { configurable: { thread_id: "done" } };
    const model = new ScriptedChatModel({ plan: defaultPlan(3) });
    const graph = buildGraph({ model, checkpointer });
    const first = await graph.invoke({ topic: "Tides" }, config);
    const callsAfterFirst = model.calls.length;
    const second = await graph.invoke({ topic: "Tides" }, config);
    expect(model.calls.length).toBe(callsAfterFirst);
    expect(second.report).toBe(first.report);
  });

  test("a new topic on the same thread plans afresh and drops the old sections", async () => {
    const checkpointer = new MemorySaver();
    const config = { configurable: { thread_id: "two-topics" } };
    const model = new ScriptedChatModel({
      plan: defaultPlan(2),
      write: (name, prompt) => `${name} of ${/<Report topic>\n(.*)\n/.exec(prompt)?.[1]}.`,
    });
    const graph = buildGraph({ model, checkpointer });
    await graph.invoke({ topic: "Tides" }, config);
    const second = await graph.invoke({ topic: "Volcanoes" }, config);
    expect(model.planCalls).toHaveLength(2);
    expect(second.completedSections).toHaveLength(2);
    expect(second.report).toContain("Part 1 of Volcanoes.");
    expect(second.report).not.toContain("Tides");
  });
});
