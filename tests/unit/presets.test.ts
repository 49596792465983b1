import { buildGraph } from "../../src/graph/graph.js";
import { PRESETS } from "../../src/schemas/presets.js";
import { PLANNER_SYSTEM_PROMPT } from "../../src/schemas/prompts.js";
import { resolveConfiguration } from "../../src/schemas/configuration.js";
import { ScriptedChatModel, defaultPlan } from "../../src/testing/index.js";
import { headings } from "../helpers/report.js";

describe("presets", () => {
  test("report (the default): the default prompts, joined, no aggregator", async () => {
    const model = new ScriptedChatModel({ plan: defaultPlan(2) });
    const result = await buildGraph({ model }).invoke(
      { topic: "Tides" },
      { configurable: { preset: "report" } },
    );
    expect(model.planCalls[0]!.messages[0]).toBe(PLANNER_SYSTEM_PROMPT);
    expect(model.synthesisCalls).toHaveLength(0);
    expect(headings(result.report)).toEqual(["Part 1", "Part 2"]);
  });

  test("qa: one answer per question with the Q&A prompts, framed as an answer sheet", async () => {
    const model = new ScriptedChatModel({
      plan: [
        { name: "Why are there tides?", description: "Cause." },
        { name: "When are tides highest?", description: "Spring tides." },
      ],
      synthesisAnswer: {
        introduction: "Two answers.",
        transitions: [],
        conclusion: "- Moon\n- Alignment",
      },
    });
    const result = await buildGraph({ model }).invoke(
      { topic: "Why are there tides? When are they highest?" },
      { configurable: { preset: "qa" } },
    );
    expect(model.planCalls[0]!.messages[0]).toBe(PRESETS.qa.plannerPrompt);
    expect(model.writeCalls.every((call) => call.messages[0] === PRESETS.qa.writerPrompt)).toBe(
      true,
    );
    expect(model.synthesisCalls[0]!.messages[0]).toBe(PRESETS.qa.aggregatorPrompt);
    expect(headings(result.report)).toEqual([
      "Why are there tides?",
      "When are tides highest?",
      "Conclusion",
    ]);
  });

  test("itinerary: research sections combined by the aggregator into a day-by-day plan", async () => {
    const model = new ScriptedChatModel({
      plan: [
        { name: "Transport", description: "Trains." },
        { name: "Lodging", description: "Hotels." },
        { name: "Activities", description: "Museums." },
      ],
      synthesisAnswer: { answer: "### Day 1\n\nMorning: train.\n\n### Day 2\n\nMuseum." },
    });
    const result = await buildGraph({ model }).invoke(
      { topic: "Two days in Lisbon in May" },
      { configurable: { preset: "itinerary" } },
    );
    expect(model.writeCalls).toHaveLength(3);
    expect(model.synthesisCalls[0]!.messages[0]).toContain("day-by-day itinerary");
    expect(model.synthesisCalls[0]!.prompt).toContain("Body of Lodging.");
    expect(result.report).toMatch(/^# Two days in Lisbon in May\n\n### Day 1\n\nMorning: train\./);
    expect(headings(result.report)).toEqual([]);
  });

  test("settings given explicitly win over the preset's", () => {
    const configuration = resolveConfiguration({
      configurable: { preset: "itinerary", synthesis: "join" },
    });
    expect(configuration.synthesis).toBe("join");
    expect(configuration.plannerPrompt).toBe(PRESETS.itinerary.plannerPrompt);
  });
});
