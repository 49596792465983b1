import { Command, MemorySaver } from "@langchain/langgraph";
import { buildGraph } from "../../src/graph/graph.js";
import type { PlanReviewRequest } from "../../src/schemas/review.js";
import { ScriptedChatModel, defaultPlan } from "../../src/testing/index.js";
import { headings } from "../helpers/report.js";

function setup(options: { maxPlanRevisions?: number } = {}) {
  const model = new ScriptedChatModel({ plan: defaultPlan(3) });
  const graph = buildGraph({ model, checkpointer: new MemorySaver() });
  const config = {
    configurable: { thread_id: `review-${Math.random()}`, reviewPlan: true, ...options },
  };
  /** The review request the thread is paused on, or undefined when it is not paused. */
  const pending = async () => {
    const state = await graph.getState(config);
    return state.tasks.flatMap((task) => task.interrupts)[0]?.value as
      PlanReviewRequest | undefined;
  };
  const resume = (value: unknown) => graph.invoke(new Command({ resume: value }), config);
  return { model, graph, config, pending, resume };
}

describe("plan review (reviewPlan: true)", () => {
  test("pauses after planning with the plan, and writes nothing until approved", async () => {
    const { model, graph, config, pending, resume } = setup();
    await graph.invoke({ topic: "Tides" }, config);
    const request = await pending();
    expect(request).toMatchObject({
      type: "plan_review",
      topic: "Tides",
      revisionsLeft: 3,
      plan: [
        { id: "s1", name: "Part 1" },
        { id: "s2", name: "Part 2" },
        { id: "s3", name: "Part 3" },
      ],
    });
    expect(model.writeCalls).toHaveLength(0);

    const result = await resume({ action: "approve" });
    expect(await pending()).toBeUndefined();
    expect(model.planCalls).toHaveLength(1);
    expect(model.writeCalls).toHaveLength(3);
    expect(headings(result.report)).toEqual(["Part 1", "Part 2", "Part 3"]);
  });

  test("an edited list of sections replaces the plan", async () => {
    const { model, graph, config, resume } = setup();
    await graph.invoke({ topic: "Tides" }, config);
    const result = await resume([
      { name: "Moon", description: "The moon's pull." },
      { name: "Sun", description: "The sun's pull." },
    ]);
    expect(model.planCalls).toHaveLength(1);
    expect(
      model.writeCalls.map((call) => /<Section name>\n(.*)\n/.exec(call.prompt)?.[1]).sort(),
    ).toEqual(["Moon", "Sun"]);
    expect(headings(result.report)).toEqual(["Moon", "Sun"]);
    expect(result.plan!.sections.map((section) => section.id)).toEqual(["s1", "s2"]);
  });

  test("feedback re-plans with the previous plan and the feedback, then asks again", async () => {
    const { model, graph, config, pending, resume } = setup();
    await graph.invoke({ topic: "Tides" }, config);
    await resume({ action: "feedback", feedback: "Add a section on tidal power." });
    expect(model.planCalls).toHaveLength(2);
    const revisedPrompt = model.planCalls[1]!.prompt;
    expect(revisedPrompt).toContain(
      "<Reviewer feedback>\nAdd a section on tidal power.\n</Reviewer feedback>",
    );
    expect(revisedPrompt).toContain("1. Part 1: What part 1 covers.");
    expect(await pending()).toMatchObject({ type: "plan_review", revisionsLeft: 2 });
    expect(model.writeCalls).toHaveLength(0);

    const result = await resume("approve");
    expect(model.writeCalls).toHaveLength(3);
    expect(headings(result.report)).toEqual(["Part 1", "Part 2", "Part 3"]);
  });

  test("feedback past maxPlanRevisions is refused with a reason, and the thread stays resumable", async () => {
    const { model, graph, config, pending, resume } = setup({ maxPlanRevisions: 1 });
    await graph.invoke({ topic: "Tides" }, config);
    await resume("Shorter, please.");
    await resume("Shorter still.");
    expect(model.planCalls).toHaveLength(2);
    expect(await pending()).toMatchObject({
      revisionsLeft: 0,
      error: expect.stringMatching(/No revisions left \(maxPlanRevisions is 1\)/),
    });
    const result = await resume({ action: "approve" });
    expect(headings(result.report)).toHaveLength(3);
  });

  test.each([
    [{ action: "publish" }, /cannot be used/],
    [{ action: "edit", sections: [] }, /cannot be used.*sections/],
    [[{ name: "No description" }], /cannot be used/],
    [
      [
        { id: "x", name: "A", description: "a" },
        { id: "x", name: "B", description: "b" },
      ],
      /repeats the section id "x"/,
    ],
    [42, /cannot be used/],
  ])(
    "an invalid answer %# pauses again with a clear error; a valid one then goes through",
    async (answer, message) => {
      const { model, graph, config, pending, resume } = setup();
      await graph.invoke({ topic: "Tides" }, config);
      await resume(answer);
      const request = await pending();
      expect(request?.error).toMatch(message);
      expect(request?.error).toContain('{ action: "approve" }');
      expect(model.writeCalls).toHaveLength(0);
      const result = await resume({ action: "approve" });
      expect(headings(result.report)).toEqual(["Part 1", "Part 2", "Part 3"]);
    },
  );

  test("a re-run of a reviewed and finished thread is not reviewed again", async () => {
    const { model, graph, config, pending, resume } = setup();
    await graph.invoke({ topic: "Tides" }, config);
    await resume("approve");
    const calls = model.calls.length;
    await graph.invoke({ topic: "Tides" }, config);
    expect(await pending()).toBeUndefined();
    expect(model.calls.length).toBe(calls);
  });
});
