import { resolveConfiguration } from "../../src/schemas/configuration.js";
import { InvalidInputError } from "../../src/errors.js";
import { assembleReport } from "../../src/nodes/synthesizer.js";
import { sectionBody } from "../../src/nodes/section-worker.js";
import { DEFAULT_MODEL } from "../../src/schemas/configuration.js";
import { PLANNER_SYSTEM_PROMPT } from "../../src/schemas/prompts.js";

describe("resolveConfiguration", () => {
  test("fills defaults and ignores keys that are not configuration", () => {
    const configuration = resolveConfiguration({ configurable: { thread_id: "t" } });
    expect(configuration).toMatchObject({
      plannerModel: DEFAULT_MODEL,
      writerModel: DEFAULT_MODEL,
      maxSections: 8,
      plannerPrompt: PLANNER_SYSTEM_PROMPT,
    });
    expect(configuration).not.toHaveProperty("thread_id");
  });

  test("context wins over configurable", () => {
    const configuration = resolveConfiguration({
      configurable: { maxSections: 3, temperature: 1 },
      context: { maxSections: 5 },
    });
    expect(configuration.maxSections).toBe(5);
    expect(configuration.temperature).toBe(1);
  });

  test.each([
    [{ maxSections: 0 }, "maxSections"],
    [{ maxSections: 2.5 }, "maxSections"],
    [{ temperature: 3 }, "temperature"],
    [{ plannerModel: "" }, "plannerModel"],
  ])("refuses %j and names the field", (configurable, field) => {
    let caught: unknown;
    try {
      resolveConfiguration({ configurable });
    } catch (error) {
      caught = error;
    }
    expect(InvalidInputError.isInstance(caught)).toBe(true);
    expect((caught as InvalidInputError).field).toBe(field);
    expect((caught as Error).message).toContain(field);
  });
});

describe("sectionBody", () => {
  test("drops a first heading that repeats the section name", () => {
    expect(sectionBody("## Gravity\n\nThe moon pulls.", "Gravity")).toBe("The moon pulls.");
    expect(sectionBody("# **gravity**\nText", "Gravity")).toBe("Text");
  });

  test("keeps other headings and trims", () => {
    expect(sectionBody("  ### Details\nText  ", "Gravity")).toBe("### Details\nText");
  });
});

describe("assembleReport", () => {
  const plan = [
    { id: "a", name: "First" },
    { id: "b", name: "Second" },
    { id: "c", name: "Third" },
  ];

  test("follows the plan, not arrival order or names, and marks what is missing", () => {
    const report = assembleReport({
      topic: "Topic\nsecond line",
      plan,
      completedSections: [
        { id: "c", name: "Third", content: "C.", model: "m" },
        { id: "a", name: "First", content: "A.", model: "m" },
      ],
    });
    expect(report).toBe(
      "# Topic\n\n## First\n\nA.\n\n## Second\n\n_This section is missing: it was not written._\n\n## Third\n\nC.\n",
    );
  });

  test("a later entry for the same id replaces the earlier one", () => {
    const report = assembleReport({
      topic: "T",
      plan: plan.slice(0, 1),
      completedSections: [
        { id: "a", name: "First", content: "old", model: "m" },
        { id: "a", name: "First", content: "new", model: "m" },
      ],
    });
    expect(report).toContain("## First\n\nnew");
    expect(report).not.toContain("old");
  });
});
