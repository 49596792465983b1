import { buildGraph } from "../../src/graph/graph.js";
import type { ProgressEvent } from "../../src/schemas/events.js";
import { InvalidInputError } from "../../src/errors.js";
import { WRITER_SYSTEM_PROMPT } from "../../src/schemas/prompts.js";
import { resolveConfiguration } from "../../src/schemas/configuration.js";
import { ScriptedChatModel, defaultPlan, sectionNameOf } from "../../src/testing/index.js";

const roster = [
  { name: "physics generalist", background: "Explains physics to a general audience." },
  { name: "quantum specialist", background: "Knows quantum mechanics in depth." },
  { name: "relativity specialist", background: "Knows special and general relativity." },
];

describe("specialist roles", () => {
  test("the planner sees the roster, assigns a role per section, and each writer gets its role's background", async () => {
    const model = new ScriptedChatModel({
      planAnswer: {
        sections: [
          { name: "Overview", description: "The big picture.", role: "physics generalist" },
          { name: "Entanglement", description: "Spooky action.", role: "quantum specialist" },
          {
            name: "Time dilation",
            description: "Clocks slow down.",
            role: "relativity specialist",
          },
        ],
      },
    });
    const events: ProgressEvent[] = [];
    const stream = await buildGraph({ model }).stream(
      { topic: "Modern physics" },
      { configurable: { roles: roster }, streamMode: "custom" },
    );
    for await (const event of stream) events.push(event as ProgressEvent);

    const planPrompt = model.planCalls[0]!.prompt;
    for (const role of roster) expect(planPrompt).toContain(`- ${role.name}: ${role.background}`);
    const writerFor = (name: string) =>
      model.writeCalls.find((call) => sectionNameOf(call.prompt) === name)!;
    expect(writerFor("Entanglement").messages[0]).toContain(
      "You write as the team's quantum specialist. Knows quantum mechanics in depth.",
    );
    expect(writerFor("Time dilation").messages[0]).toContain("relativity specialist");
    expect(writerFor("Overview").messages[0]).not.toContain("quantum");
    expect(
      events
        .filter((event) => event.type === "section_started")
        .map((event) => [event.name, "role" in event ? event.role : undefined])
        .sort(),
    ).toEqual([
      ["Entanglement", "quantum specialist"],
      ["Overview", "physics generalist"],
      ["Time dilation", "relativity specialist"],
    ]);
  });

  test("a plan naming a role off the roster is re-asked, then refused", async () => {
    const model = new ScriptedChatModel({
      planAnswer: { sections: [{ name: "A", description: "a", role: "astrologer" }] },
    });
    await expect(
      buildGraph({ model }).invoke(
        { topic: "Physics" },
        { configurable: { roles: roster, maxPlanAttempts: 2 } },
      ),
    ).rejects.toThrow(/No usable plan after 2 attempts/);
    expect(model.planCalls).toHaveLength(2);
    expect(model.writeCalls).toHaveLength(0);
  });

  test("a ready-made plan may name roles; one off the roster is bad input", async () => {
    const model = new ScriptedChatModel();
    const error: unknown = await buildGraph({ model })
      .invoke(
        { topic: "Physics", sections: [{ name: "A", description: "a", role: "astrologer" }] },
        { configurable: { roles: roster } },
      )
      .catch((caught: unknown) => caught);
    expect(InvalidInputError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/"astrologer", which is not on the roster/);
    expect(model.calls).toHaveLength(0);
  });

  test("with the default roster nothing changes: no role in the plan or the writer's prompt", async () => {
    const model = new ScriptedChatModel({ plan: defaultPlan(2) });
    const result = await buildGraph({ model }).invoke({ topic: "Tides" });
    expect(result.plan!.sections.every((section) => section.role === undefined)).toBe(true);
    expect(model.writeCalls.every((call) => call.messages[0] === WRITER_SYSTEM_PROMPT)).toBe(true);
    expect(model.planCalls[0]!.prompt).not.toContain("<Roles>");
  });

  test("a roster with repeated names is refused", () => {
    expect(() => resolveConfiguration({ configurable: { roles: [roster[0], roster[0]] } })).toThrow(
      /role names must be unique/,
    );
  });
});
