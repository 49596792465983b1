import { buildGraph } from "../../src/graph/graph.js";
import type { ProgressEvent } from "../../src/schemas/events.js";
import { InvalidInputError, PlanError } from "../../src/errors.js";
import { ScriptedChatModel, sectionNameOf } from "../../src/testing/index.js";
import { headings } from "../helpers/report.js";

const plan = {
  sections: [
    { name: "Moon", description: "The Moon's pull.", dependsOn: [] },
    { name: "Sun", description: "The Sun's pull.", dependsOn: [] },
    { name: "Summary", description: "What the two add up to.", dependsOn: ["s1", "s2"] },
    { name: "Tables", description: "Tide tables.", dependsOn: [] },
  ],
};

describe("dependencies between sections", () => {
  test("run in waves; a dependent worker starts after its dependencies and receives their text", async () => {
    const model = new ScriptedChatModel({ planAnswer: plan });
    const events: ProgressEvent[] = [];
    let output: { report: string } | undefined;
    for await (const [mode, chunk] of await buildGraph({ model }).stream(
      { topic: "Tides" },
      { streamMode: ["custom", "values"] },
    )) {
      if (mode === "custom") events.push(chunk as ProgressEvent);
      else output = chunk;
    }
    const waves = events.flatMap((event) =>
      event.type === "wave_started" ? [event.sections.map((section) => section.id)] : [],
    );
    expect(waves).toEqual([["s1", "s2", "s4"], ["s3"]]);
    const order = model.writeCalls.map((call) => sectionNameOf(call.prompt));
    expect(order.indexOf("Summary")).toBe(3);
    const summaryPrompt = model.writeCalls[3]!.prompt;
    expect(summaryPrompt).toContain(
      "<Sections this one builds on>\n## Moon\n\nBody of Moon.\n\n## Sun\n\nBody of Sun.\n</Sections this one builds on>",
    );
    expect(model.writeCalls[0]!.prompt).not.toContain("builds on");
    expect(headings(output!.report)).toEqual(["Moon", "Sun", "Summary", "Tables"]);
  });

  test.each([
    [
      "a cycle",
      [
        { name: "A", description: "a", dependsOn: ["s2"] },
        { name: "B", description: "b", dependsOn: ["s1"] },
      ],
      /depend on each other in a cycle/,
    ],
    [
      "an unknown id",
      [
        { name: "A", description: "a", dependsOn: ["s9"] },
        { name: "B", description: "b", dependsOn: [] },
      ],
      /depends on "s9", which is not a section id of the plan/,
    ],
  ])(
    "%s in the planner's answer is re-asked, then a clear PlanError",
    async (_kind, sections, message) => {
      const model = new ScriptedChatModel({ planAnswer: { sections } });
      const error: unknown = await buildGraph({ model })
        .invoke({ topic: "Tides" }, { configurable: { maxPlanAttempts: 2 } })
        .catch((caught: unknown) => caught);
      expect(PlanError.isInstance(error)).toBe(true);
      expect((error as Error).message).toMatch(message);
      expect(model.planCalls).toHaveLength(2);
      expect(model.writeCalls).toHaveLength(0);
    },
  );

  test("a ready-made plan may carry dependencies; a cycle in it is bad input", async () => {
    const model = new ScriptedChatModel();
    const result = await buildGraph({ model }).invoke({
      topic: "Tides",
      sections: [
        { id: "intro", name: "Intro", description: "i" },
        { id: "end", name: "End", description: "e", dependsOn: ["intro"] },
      ],
    });
    expect(model.writeCalls.map((call) => sectionNameOf(call.prompt))).toEqual(["Intro", "End"]);
    expect(headings(result.report)).toEqual(["Intro", "End"]);

    const error: unknown = await buildGraph({ model })
      .invoke({
        topic: "Tides",
        sections: [
          { id: "a", name: "A", description: "a", dependsOn: ["b"] },
          { id: "b", name: "B", description: "b", dependsOn: ["a"] },
        ],
      })
      .catch((caught: unknown) => caught);
    expect(InvalidInputError.isInstance(error)).toBe(true);
  });

  test("a section that depends on a failed one is not written, and the run says why", async () => {
    const model = new ScriptedChatModel({ planAnswer: plan, failSections: ["Sun"] });
    const result = await buildGraph({ model }).invoke({ topic: "Tides" });
    expect(result.completedSections.map((section) => section.id).sort()).toEqual(["s1", "s4"]);
    expect(result.failedSections.map((section) => section.id)).toEqual(["s2"]);
    expect(result.warnings.join("\n")).toMatch(
      /1 section was not written because a section they depend on failed: s3/,
    );
    expect(model.writeCalls.some((call) => sectionNameOf(call.prompt) === "Summary")).toBe(false);
  });

  test("without dependencies everything is one wave, as before", async () => {
    const model = new ScriptedChatModel({
      planAnswer: { sections: plan.sections.map((section) => ({ ...section, dependsOn: [] })) },
    });
    const events: ProgressEvent[] = [];
    for await (const event of await buildGraph({ model }).stream(
      { topic: "Tides" },
      { streamMode: "custom" },
    )) {
      events.push(event as ProgressEvent);
    }
    expect(events.filter((event) => event.type === "wave_started")).toEqual([]);
    expect(model.writeCalls).toHaveLength(4);
  });
});
