import { MemorySaver } from "@langchain/langgraph";
import { headings } from "../helpers/report.js";
import { buildGraph } from "../../src/graph/graph.js";
import type { ProgressEvent } from "../../src/schemas/events.js";
import { InvalidInputError, PlanError } from "../../src/errors.js";
import { ScriptedChatModel, defaultPlan } from "../../src/testing/index.js";

describe("report graph with a scripted model", () => {
  test("plans once, writes one section per planned section, and assembles them in plan order", async () => {
    const plan = defaultPlan(5);
    // Later sections answer first, so arrival order is the reverse of plan order: each section's
    // model call waits until the next section has been reported done (events, not timing).
    const done = new Map(
      plan.map((section) => {
        let resolve!: () => void;
        const promise = new Promise<void>((settle) => (resolve = settle));
        return [section.name, { promise, resolve }];
      }),
    );
    const model = new ScriptedChatModel({
      plan,
      waitFor: (call) => {
        const part = Number(/Part (\d+)/.exec(call.prompt)?.[1]);
        return call.toolChoice || part === 5 ? undefined : done.get(`Part ${part + 1}`)!.promise;
      },
    });
    const graph = buildGraph({ model });

    const completedOrder: string[] = [];
    let result:
      | { report: string; plan?: { sections: { id: string }[] }; completedSections: unknown[] }
      | undefined;
    for await (const [mode, chunk] of await graph.stream(
      { topic: "How tides work" },
      { streamMode: ["custom", "values"] },
    )) {
      if (mode === "custom" && (chunk as ProgressEvent).type === "section_completed") {
        const name = (chunk as { name: string }).name;
        completedOrder.push(name);
        done.get(name)!.resolve();
      }
      if (mode === "values") result = chunk;
    }

    expect(model.planCalls).toHaveLength(1);
    expect(model.writeCalls).toHaveLength(5);
    expect(completedOrder).toEqual(plan.map((section) => section.name).reverse());
    expect(result!.completedSections).toHaveLength(5);
    expect(headings(result!.report)).toEqual(plan.map((section) => section.name));
    expect(result!.report.startsWith("# How tides work\n")).toBe(true);
    expect(result!.report).toContain("## Part 2\n\nBody of Part 2.");
    expect(result!.plan!.sections.map((section) => section.id)).toEqual([
      "s1",
      "s2",
      "s3",
      "s4",
      "s5",
    ]);
  });

  test("tells the planner the topic and the section bound", async () => {
    const model = new ScriptedChatModel();
    await buildGraph({ model }).invoke(
      { topic: "Volcanoes" },
      { configurable: { maxSections: 4 } },
    );
    const [planCall] = model.planCalls;
    expect(planCall!.prompt).toContain("Volcanoes");
    expect(planCall!.prompt).toContain("at most 4 sections");
  });

  test("each worker's prompt holds its own section and no other", async () => {
    const plan = [
      { name: "Gravity", description: "The moon's pull on the oceans." },
      { name: "Spring tides", description: "When sun and moon align." },
      { name: "Tide tables", description: "How predictions are published." },
    ];
    const model = new ScriptedChatModel({ plan });
    await buildGraph({ model }).invoke({ topic: "Tides" });
    for (const section of plan) {
      const calls = model.writeCalls.filter((call) => call.prompt.includes(section.name));
      expect(calls).toHaveLength(1);
      expect(calls[0]!.prompt).toContain(section.description);
      for (const other of plan.filter((candidate) => candidate !== section)) {
        expect(calls[0]!.prompt).not.toContain(other.name);
        expect(calls[0]!.prompt).not.toContain(other.description);
      }
    }
  });

  test("two sections may share a name: ids keep them apart and in order", async () => {
    const plan = [
      { name: "Examples", description: "First set: coastal tides." },
      { name: "Examples", description: "Second set: river bores." },
    ];
    const model = new ScriptedChatModel({
      plan,
      write: (_name, prompt) => (prompt.includes("coastal") ? "Coastal." : "Bores."),
      delayMs: (call) => (call.prompt.includes("coastal") ? 30 : 0),
    });
    const result = await buildGraph({ model }).invoke({ topic: "Tides" });
    expect(result.report).toMatch(/## Examples\n\nCoastal\.\n\n## Examples\n\nBores\./);
  });

  test("a ready-made plan skips the planner and is written as given", async () => {
    const model = new ScriptedChatModel();
    const result = await buildGraph({ model }).invoke({
      topic: "Tides",
      sections: [
        { id: "intro", name: "Intro", description: "Open." },
        { name: "Body", description: "Explain." },
      ],
    });
    expect(model.planCalls).toHaveLength(0);
    expect(model.writeCalls).toHaveLength(2);
    expect(result.plan!.sections.map((section) => section.id)).toEqual(["intro", "s2"]);
    expect(headings(result.report)).toEqual(["Intro", "Body"]);
  });

  test("a plan longer than maxSections is cut, with a warning", async () => {
    const model = new ScriptedChatModel({ plan: defaultPlan(6) });
    const result = await buildGraph({ model }).invoke(
      { topic: "Tides" },
      { configurable: { maxSections: 4 } },
    );
    expect(result.plan!.sections).toHaveLength(4);
    expect(model.writeCalls).toHaveLength(4);
    expect(result.warnings).toEqual([
      "The planner proposed 6 sections; kept the first 4 (maxSections).",
    ]);
  });

  test("an empty plan is a PlanError and no worker runs", async () => {
    const model = new ScriptedChatModel({ plan: [] });
    const error: unknown = await buildGraph({ model })
      .invoke({ topic: "Tides" })
      .catch((caught: unknown) => caught);
    expect(PlanError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/empty plan/);
    expect(model.writeCalls).toHaveLength(0);
  });

  test("a plan that does not match the schema is a PlanError naming the problem", async () => {
    const model = new ScriptedChatModel({ planAnswer: { sections: [{ title: "No name" }] } });
    const error: unknown = await buildGraph({ model })
      .invoke({ topic: "Tides" })
      .catch((caught: unknown) => caught);
    expect(PlanError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/not a valid plan/);
    expect(model.writeCalls).toHaveLength(0);
  });

  test("a planned section with a blank name is a PlanError", async () => {
    const model = new ScriptedChatModel({ plan: [{ name: " ", description: "Something." }] });
    const error: unknown = await buildGraph({ model })
      .invoke({ topic: "Tides" })
      .catch((caught: unknown) => caught);
    expect(PlanError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/has no name/);
  });

  test.each([
    [{ topic: "   " }, /topic is empty/],
    [{ topic: "x".repeat(2001) }, /shorten it to at most 2000/],
    [{ topic: "Tides", sections: [] }, /no sections/],
    [{ topic: "Tides", sections: [{ name: "A", description: "" }] }, /has no description/],
    [
      {
        topic: "Tides",
        sections: [
          { id: "a", name: "A", description: "a" },
          { id: "a", name: "B", description: "b" },
        ],
      },
      /repeats the section id "a"/,
    ],
  ])("bad input %# is refused before any model call", async (input, message) => {
    const model = new ScriptedChatModel();
    const error: unknown = await buildGraph({ model })
      .invoke(input)
      .catch((caught: unknown) => caught);
    expect(InvalidInputError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(message);
    expect(model.calls).toHaveLength(0);
  });

  test("an invalid configuration value is refused before any model call", async () => {
    const model = new ScriptedChatModel();
    await expect(
      buildGraph({ model }).invoke({ topic: "Tides" }, { configurable: { maxSections: 0 } }),
    ).rejects.toThrow(/maxSections/);
    expect(model.calls).toHaveLength(0);
  });

  test("configured prompts and separate planner and writer models are used", async () => {
    const plannerModel = new ScriptedChatModel({ plan: defaultPlan(2) });
    const writerModel = new ScriptedChatModel();
    await buildGraph({ plannerModel, writerModel }).invoke(
      { topic: "Tides" },
      { configurable: { plannerPrompt: "PLANNER-PROMPT", writerPrompt: "WRITER-PROMPT" } },
    );
    expect(plannerModel.calls.map((call) => call.messages[0])).toEqual(["PLANNER-PROMPT"]);
    expect(writerModel.calls.map((call) => call.messages[0])).toEqual([
      "WRITER-PROMPT",
      "WRITER-PROMPT",
    ]);
  });

  test("streams a plan event and a started and completed event per section", async () => {
    const model = new ScriptedChatModel({ plan: defaultPlan(3) });
    const events: ProgressEvent[] = [];
    for await (const event of await buildGraph({ model }).stream(
      { topic: "Tides" },
      { streamMode: "custom" },
    )) {
      events.push(event as ProgressEvent);
    }
    expect(events[0]).toEqual({
      type: "plan_ready",
      source: "planner",
      sections: [
        { id: "s1", name: "Part 1" },
        { id: "s2", name: "Part 2" },
        { id: "s3", name: "Part 3" },
      ],
    });
    for (const id of ["s1", "s2", "s3"]) {
      expect(
        events.filter((event) => event.type === "section_started" && event.id === id),
      ).toHaveLength(1);
      expect(
        events.filter((event) => event.type === "section_completed" && event.id === id),
      ).toHaveLength(1);
    }
  });

  test.each<[{ configurable?: { maxConcurrency: number } }, { maxConcurrency?: number }, number]>([
    [{}, {}, 10],
    [{ configurable: { maxConcurrency: 3 } }, {}, 3],
    [{ configurable: { maxConcurrency: 3 } }, { maxConcurrency: 5 }, 5],
  ])(
    "sections written at once are bounded by maxConcurrency: %j %j -> %d",
    async (configuration, runOption, bound) => {
      const model = new ScriptedChatModel({
        plan: defaultPlan(30),
        delayMs: (call) => (call.toolChoice ? 0 : 10),
      });
      const result = await buildGraph({ model }).invoke(
        { topic: "Tides" },
        {
          ...configuration,
          ...runOption,
          configurable: { maxSections: 30, ...configuration.configurable },
        },
      );
      expect(result.completedSections).toHaveLength(30);
      expect(model.maxInFlight).toBe(bound);
    },
  );

  test("with a checkpointer, the thread's final state holds the report", async () => {
    const model = new ScriptedChatModel({ plan: defaultPlan(2) });
    const graph = buildGraph({ model, checkpointer: new MemorySaver() });
    const config = { configurable: { thread_id: "t1" } };
    await graph.invoke({ topic: "Tides" }, config);
    const state = await graph.getState(config);
    expect(headings((state.values as { report: string }).report)).toEqual(["Part 1", "Part 2"]);
  });
});
