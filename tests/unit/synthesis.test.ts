import { buildGraph } from "../../src/graph/graph.js";
import { ScriptedChatModel, defaultPlan } from "../../src/testing/index.js";
import { headings } from "../helpers/report.js";

describe("synthesis modes", () => {
  test("llm: the aggregator frames the sections, which stay exactly as written", async () => {
    const model = new ScriptedChatModel({
      plan: defaultPlan(3),
      synthesisAnswer: {
        introduction: "This report explains tides.",
        transitions: [{ beforeSectionId: "s3", text: "With both pulls in mind, on to part 3." }],
        conclusion: "Tides follow the Moon.",
      },
    });
    const result = await buildGraph({ model }).invoke(
      { topic: "Tides" },
      { configurable: { synthesis: "llm" } },
    );
    expect(model.synthesisCalls).toHaveLength(1);
    const prompt = model.synthesisCalls[0]!.prompt;
    for (const part of ["Part 1", "Part 2", "Part 3"]) expect(prompt).toContain(`Body of ${part}.`);
    expect(result.report).toMatch(
      /^# Tides\n\nThis report explains tides\.\n\n## Part 1\n\nBody of Part 1\.\n\n## Part 2\n\nBody of Part 2\.\n\nWith both pulls in mind, on to part 3\.\n\n## Part 3\n\nBody of Part 3\.\n\n## Conclusion\n\nTides follow the Moon\.\n/,
    );
    expect(result.usage!.aggregator!.total).toBeGreaterThan(0);
    expect(result.usage!.total.total).toBe(
      result.usage!.planner.total +
        result.usage!.aggregator!.total +
        Object.values(result.usage!.sections).reduce((sum, usage) => sum + usage.total, 0),
    );
  });

  test("llm over the token budget: the aggregator reads summaries, the report keeps the full sections", async () => {
    const long = (name: string) => `${name} opens here. ${"More detail. ".repeat(200)}`;
    const model = new ScriptedChatModel({ plan: defaultPlan(2), write: long });
    const result = await buildGraph({ model }).invoke(
      { topic: "Tides" },
      { configurable: { synthesis: "llm", aggregatorTokenBudget: 200 } },
    );
    const prompt = model.synthesisCalls[0]!.prompt;
    expect(prompt).toContain("summaries: the full sections were too long");
    expect(prompt).toContain("Part 1 opens here.");
    expect(prompt).toContain("…");
    expect(prompt.length).toBeLessThan(long("Part 1").length);
    expect(result.report).toContain(long("Part 1").trim());
  });

  test("llm with synthesisOutput answer: one combined answer replaces the sections", async () => {
    const model = new ScriptedChatModel({
      plan: defaultPlan(2),
      synthesisAnswer: { answer: "Tides come from the Moon and the Sun." },
    });
    const result = await buildGraph({ model }).invoke(
      { topic: "Why are there tides?" },
      { configurable: { synthesis: "llm", synthesisOutput: "answer" } },
    );
    expect(result.report).toMatch(
      /^# Why are there tides\?\n\nTides come from the Moon and the Sun\.\n/,
    );
    expect(headings(result.report)).toEqual([]);
  });

  test("join (the default) makes no aggregator call", async () => {
    const model = new ScriptedChatModel({ plan: defaultPlan(2) });
    await buildGraph({ model }).invoke({ topic: "Tides" });
    expect(model.synthesisCalls).toHaveLength(0);
  });
});
