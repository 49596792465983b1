import { Command, MemorySaver } from "@langchain/langgraph";
import { buildGraph } from "../../src/graph/graph.js";
import type { PlanReviewRequest } from "../../src/schemas/review.js";
import { ScriptedChatModel, defaultPlan } from "../../src/testing/index.js";
import { headings } from "../helpers/report.js";

function setup(options: { maxPlanRevisions?: number; planReviewFormat?: "agent_inbox" } = {}) {
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

  describe("in the Agent Inbox form (planReviewFormat: agent_inbox), as agent-chat-ui shows it", () => {
    /** agent-chat-ui's own test for an interrupt it renders with accept, edit and respond buttons. */
    const isAgentInboxInterrupt = (value: unknown): boolean => {
      if (!Array.isArray(value) || typeof value[0] !== "object" || value[0] === null) return false;
      const first = value[0] as { action_request?: unknown; config?: Record<string, unknown> };
      return (
        typeof first.action_request === "object" &&
        typeof first.config === "object" &&
        ["allow_respond", "allow_accept", "allow_edit", "allow_ignore"].every(
          (key) => key in first.config!,
        )
      );
    };

    test("asks with a HumanInterrupt; respond re-plans, an edit of the action's arguments (JSON text from a form) replaces the plan, accept writes it", async () => {
      const { model, graph, config, pending, resume } = setup({ planReviewFormat: "agent_inbox" });
      await graph.invoke({ topic: "Tides" }, config);
      const asked = (await pending()) as unknown as {
        action_request: { action: string; args: { sections: { name: string }[] } };
        config: Record<string, boolean>;
        description: string;
      }[];
      expect(isAgentInboxInterrupt(asked)).toBe(true);
      expect(asked[0]!.action_request.action).toBe("review_plan");
      expect(asked[0]!.action_request.args.sections.map((section) => section.name)).toEqual([
        "Part 1",
        "Part 2",
        "Part 3",
      ]);
      expect(asked[0]!.config).toEqual({
        allow_accept: true,
        allow_edit: true,
        allow_respond: true,
        allow_ignore: false,
      });
      expect(asked[0]!.description).toMatch(/1\. \*\*Part 1\*\*/);
      expect(asked[0]!.description).toMatch(/3 left/);

      await resume([{ type: "response", args: "Fewer parts." }]);
      expect(model.planCalls).toHaveLength(2);
      expect(model.planCalls[1]!.prompt).toContain("Fewer parts.");
      expect(model.writeCalls).toHaveLength(0);

      // An ignore is not an answer here: asked again, saying why.
      await resume([{ type: "ignore", args: null }]);
      const again = (await pending()) as unknown as { description: string }[];
      expect(again[0]!.description).toMatch(/cannot be used/);

      const edited = JSON.stringify([
        { name: "Moon", description: "The moon's pull." },
        { name: "Sun", description: "The sun's pull." },
      ]);
      const result = await resume([
        { type: "edit", args: { action: "review_plan", args: { sections: edited } } },
      ]);
      expect(headings(result.report)).toEqual(["Moon", "Sun"]);
      expect(model.planCalls).toHaveLength(2);
    });

    test("accept writes the plan as it is; either form's answers work in the other form", async () => {
      const inbox = setup({ planReviewFormat: "agent_inbox" });
      await inbox.graph.invoke({ topic: "Tides" }, inbox.config);
      const written = await inbox.resume({ type: "accept", args: null });
      expect(headings(written.report)).toEqual(["Part 1", "Part 2", "Part 3"]);

      const plain = setup();
      await plain.graph.invoke({ topic: "Tides" }, plain.config);
      expect(await plain.pending()).toMatchObject({ type: "plan_review" });
      const accepted = await plain.resume([{ type: "accept", args: null }]);
      expect(headings(accepted.report)).toEqual(["Part 1", "Part 2", "Part 3"]);
    });
  });
});
