import { buildGraph } from "../../src/graph/graph.js";
import type { ProgressEvent } from "../../src/schemas/events.js";
import { ScriptedChatModel, defaultPlan } from "../../src/testing/index.js";

describe("failure isolation", () => {
  test("a failing worker does not discard its siblings: the run completes and the report marks the gap", async () => {
    const model = new ScriptedChatModel({ plan: defaultPlan(4), failSections: ["Part 2"] });
    const events: ProgressEvent[] = [];
    let output:
      { report: string; failedSections: unknown[]; completedSections: unknown[] } | undefined;
    for await (const [mode, chunk] of await buildGraph({ model }).stream(
      { topic: "Tides" },
      { streamMode: ["custom", "values"] },
    )) {
      if (mode === "custom") events.push(chunk as ProgressEvent);
      else output = chunk;
    }
    expect(output!.completedSections).toHaveLength(3);
    expect(output!.failedSections).toEqual([
      { id: "s2", name: "Part 2", error: "Error: Scripted failure for Part 2" },
    ]);
    expect(output!.report).toContain(
      "## Part 2\n\n_This section is missing: writing it failed (Error: Scripted failure for Part 2)._",
    );
    expect(output!.report).toMatch(/## Part 1[\s\S]*## Part 2[\s\S]*## Part 3[\s\S]*## Part 4/);
    expect(events).toContainEqual({
      type: "section_failed",
      id: "s2",
      name: "Part 2",
      error: "Error: Scripted failure for Part 2",
    });
  });

  test("failFast stops the run with the worker's error", async () => {
    const model = new ScriptedChatModel({ plan: defaultPlan(3), failSections: ["Part 3"] });
    await expect(
      buildGraph({ model }).invoke({ topic: "Tides" }, { configurable: { failFast: true } }),
    ).rejects.toThrow("Scripted failure for Part 3");
  });

  test("an empty section from the model counts as a failure of that section only", async () => {
    const model = new ScriptedChatModel({
      plan: defaultPlan(2),
      write: (name) => (name === "Part 1" ? "   " : `Body of ${name}.`),
    });
    const result = await buildGraph({ model }).invoke({ topic: "Tides" });
    expect(result.failedSections.map((section) => section.id)).toEqual(["s1"]);
    expect(result.failedSections[0]!.error).toMatch(/returned no text/);
    expect(result.report).toContain("Body of Part 2.");
  });
});
