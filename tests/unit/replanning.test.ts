import { buildGraph } from "../../src/graph/graph.js";
import type { ProgressEvent } from "../../src/schemas/events.js";
import { ScriptedChatModel, defaultPlan, sectionNameOf } from "../../src/testing/index.js";
import { headings } from "../helpers/report.js";

describe("re-planning from results (maxPlanningRounds)", () => {
  test("a second round sees what was written and adds sections, shown in the streamed events", async () => {
    const model = new ScriptedChatModel({
      planAnswerFor: (call) =>
        call === 1
          ? {
              sections: [
                { name: "Tidal power", description: "Found in round 1.", dependsOn: ["s1"] },
              ],
            }
          : { sections: defaultPlan(2) },
    });
    const events: ProgressEvent[] = [];
    let output: { report: string; plan?: { sections: { id: string }[] } } | undefined;
    for await (const [mode, chunk] of await buildGraph({ model }).stream(
      { topic: "Tides" },
      { configurable: { maxPlanningRounds: 2 }, streamMode: ["custom", "values"] },
    )) {
      if (mode === "custom") events.push(chunk as ProgressEvent);
      else output = chunk;
    }
    expect(model.planCalls).toHaveLength(2);
    const second = model.planCalls[1]!.prompt;
    expect(second).toContain("planning round 2");
    expect(second).toContain("s1. Part 1: Body of Part 1.");
    expect(second).toContain("s2. Part 2: Body of Part 2.");
    const replanned = events.find(
      (event) => event.type === "plan_ready" && event.source === "replan",
    );
    expect(replanned).toEqual({
      type: "plan_ready",
      source: "replan",
      round: 2,
      sections: [{ id: "s3", name: "Tidal power" }],
    });
    const tidal = model.writeCalls.find((call) => sectionNameOf(call.prompt) === "Tidal power")!;
    expect(tidal.prompt).toContain("## Part 1\n\nBody of Part 1.");
    expect(output!.plan!.sections.map((section) => section.id)).toEqual(["s1", "s2", "s3"]);
    expect(headings(output!.report)).toEqual(["Part 1", "Part 2", "Tidal power"]);
  });

  test("stops at the bound: no room left under maxSections means no further planning call", async () => {
    const model = new ScriptedChatModel({ plan: defaultPlan(3) });
    await buildGraph({ model }).invoke(
      { topic: "Tides" },
      { configurable: { maxPlanningRounds: 3, maxSections: 3 } },
    );
    expect(model.planCalls).toHaveLength(1);
  });

  test("additions are cut to the room left, and a round that adds nothing completes the plan", async () => {
    const model = new ScriptedChatModel({
      planAnswerFor: (call) =>
        call === 0
          ? { sections: defaultPlan(2) }
          : call === 1
            ? { sections: defaultPlan(5) }
            : { sections: [] },
    });
    const result = await buildGraph({ model }).invoke(
      { topic: "Tides" },
      { configurable: { maxPlanningRounds: 5, maxSections: 4 } },
    );
    expect(result.plan!.sections).toHaveLength(4);
    // Round 2 filled the room; round 3 had none left, so no third call was made.
    expect(model.planCalls).toHaveLength(2);
  });

  test("with the default of one round, there is no second planning call", async () => {
    const model = new ScriptedChatModel({ plan: defaultPlan(2) });
    await buildGraph({ model }).invoke({ topic: "Tides" });
    expect(model.planCalls).toHaveLength(1);
  });
});
