import { checkFacts, checkReport, checkSections } from "../../eval/checks.js";
import { readRun } from "../../eval/run-view.js";

const plan = (...names: string[]) => ({
  sections: names.map((name, index) => ({ id: `s${index + 1}`, name })),
});

describe("the evaluation's deterministic checks", () => {
  test("a sound report passes every check", () => {
    const run = readRun({
      report:
        "# Tides\n\n## Cause\n\nThe Moon pulls [1].\n\n## Rhythm\n\nTwice a day [2] [1].\n\n## References\n\n1. moon.md, lines 1-4\n2. rhythm.md, lines 1-9\n",
      plan: plan("Cause", "Rhythm"),
      completedSections: [
        {
          id: "s1",
          name: "Cause",
          content: "The Moon pulls [moon.md:1-4].",
          model: "m",
          sources: [{ key: "moon.md:1-4", title: "moon.md", location: "lines 1-4" }],
          consulted: [{ key: "sun.md:1-3", title: "sun.md", location: "lines 1-3" }],
        },
      ],
    });
    const checks = checkReport(run, ["the moon PULLS", "twice a day"]);
    expect(checks.passed).toBe(true);
    expect(checks.citations).toMatchObject({ cited: 2, references: 2, consulted: 2, dangling: [] });
  });

  test("reasoning tags, placeholder markers, dangling citations, raw keys and citation warnings each fail their check", () => {
    const run = readRun({
      report:
        "# T\n\n## A\n\n<think>plan</think> Text [3] and [notes.md:2-5].\n\n## B\n\n_This section is missing: writing it failed (boom)._\n\n## References\n\n1. x.md, lines 1-2\n",
      plan: plan("A", "B"),
      completedSections: [
        {
          id: "s1",
          name: "A",
          content: "…",
          model: "m",
          citations: { cited: 1, fabricated: ["made-up.md:1-2"] },
        },
      ],
      failedSections: [{ id: "s2", name: "B", error: "boom" }],
    });
    const checks = checkReport(run);
    expect(checks.passed).toBe(false);
    expect(checks.reasoning).toEqual(["<think>", "</think>"]);
    expect(checks.placeholders).toEqual(["_This section is missing: writing it failed (boom)._"]);
    expect(checks.citations.dangling).toEqual(["[3]", "[notes.md:2-5]"]);
    expect(checks.citations.warnings).toEqual([
      "A: cited made-up.md:1-2, which no tool returned (removed)",
    ]);
    expect(checks.sections.passed).toBe(true);
  });

  test("sections are found in plan order; a heading out of order or missing is named", () => {
    const report = "# T\n\n## Two\n\n...\n\n## One\n\n...\n";
    expect(checkSections(report, ["One", "Two", "Three"])).toEqual({
      passed: false,
      planned: 3,
      missing: ["Three"],
      outOfOrder: ["Two"],
    });
    // Two sections may share a name: each needs its own heading.
    expect(checkSections("## Notes\n\n## Notes\n", ["Notes", "Notes"]).passed).toBe(true);
    expect(checkSections("## Notes\n", ["Notes", "Notes"]).passed).toBe(false);
  });

  test("required facts ignore case, accents, punctuation and digit grouping, but not words", () => {
    const report =
      "Spring tides come at NEW moon. The range reaches 16 metres; Café-style 1,000 km.";
    expect(
      checkFacts(report, [
        "spring tides",
        "new moon.",
        "cafe style",
        "1000 km",
        "neap tides",
        "ring",
      ]),
    ).toEqual({
      found: ["spring tides", "new moon.", "cafe style", "1000 km"],
      missing: ["neap tides", "ring"],
    });
  });

  test("a run output of an unexpected shape reads as empty, not as an error", () => {
    const run = readRun({ report: 5, completedSections: "no", usage: { total: "x" } });
    expect(run).toEqual({
      report: "",
      plan: undefined,
      completedSections: [],
      failedSections: [],
      warnings: [],
      usage: undefined,
    });
  });
});
