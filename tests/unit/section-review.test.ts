import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildGraph } from "../../src/graph/graph.js";
import { promptBlocks } from "../../src/schemas/prompts.js";
import type { ProgressEvent } from "../../src/schemas/events.js";
import { createSourcesTool } from "../../src/tools/sources.js";
import { ScriptedChatModel, defaultPlan, type RecordedCall } from "../../src/testing/index.js";

const revisionOf = (call: RecordedCall) => Number(promptBlocks(call.prompt).get("Revision"));
const sectionOf = (call: RecordedCall) => promptBlocks(call.prompt).get("Section name");

async function run(model: ScriptedChatModel, configurable: Record<string, unknown>, tools = []) {
  const graph = buildGraph({ model, tools });
  const events: ProgressEvent[] = [];
  let result: Awaited<ReturnType<typeof graph.invoke>> | undefined;
  for await (const [mode, chunk] of await graph.stream(
    { topic: "How tides work", sections: defaultPlan(3) },
    { configurable, streamMode: ["custom", "values"] },
  )) {
    if (mode === "custom") events.push(chunk as ProgressEvent);
    else result = chunk;
  }
  return { result: result!, events };
}

describe("section review", () => {
  test("a failing section is revised with the feedback, at most maxRevisions times, then kept with the last feedback", async () => {
    const model = new ScriptedChatModel({
      // Part 2 never passes; the others pass their first draft.
      reviewAnswer: (call) =>
        sectionOf(call) === "Part 2"
          ? { pass: false, feedback: `Add an example (r${revisionOf(call)}).`, followUpQueries: [] }
          : { pass: true, feedback: "", followUpQueries: [] },
      write: (name, prompt) =>
        prompt.includes("<Reviewer feedback>") ? `Revised ${name}.` : `Body of ${name}.`,
    });
    const { result, events } = await run(model, {
      sectionReview: { enabled: true, maxRevisions: 2 },
    });
    const byName = new Map(result.completedSections.map((section) => [section.name, section]));
    expect(byName.get("Part 1")!.review).toEqual({ passed: true, revisions: 0 });
    expect(byName.get("Part 2")!.review).toEqual({
      passed: false,
      revisions: 2,
      feedback: "Add an example (r2).",
    });
    expect(byName.get("Part 2")!.content).toBe("Revised Part 2.");
    // Three reviews of Part 2 (draft, revision 1, revision 2), one of each other part.
    expect(model.reviewCalls.map(sectionOf).sort()).toEqual([
      "Part 1",
      "Part 2",
      "Part 2",
      "Part 2",
      "Part 3",
    ]);
    // Each revision saw the draft it replaces and the feedback on it.
    const revisions = model.writeCalls.filter((call) =>
      call.prompt.includes("<Reviewer feedback>"),
    );
    expect(revisions).toHaveLength(2);
    expect(revisions[0]!.prompt).toContain("<Draft>\nBody of Part 2.\n</Draft>");
    expect(revisions[0]!.prompt).toContain("Add an example (r0).");
    expect(revisions[1]!.prompt).toContain("<Draft>\nRevised Part 2.\n</Draft>");
    expect(revisions[1]!.prompt).toContain("Add an example (r1).");
    expect(
      events.filter((event) => event.type === "section_reviewed" && event.name === "Part 2"),
    ).toEqual(
      [0, 1, 2].map((revision) => ({
        type: "section_reviewed",
        id: "s2",
        name: "Part 2",
        pass: false,
        revision,
        feedback: `Add an example (r${revision}).`,
      })),
    );
    // The reviewer's tokens are in the ledger, apart and in their sections'.
    expect(result.usage!.reviewer!.total).toBeGreaterThan(0);
    const writerOnly =
      result.usage!.total.total - result.usage!.reviewer!.total - result.usage!.planner.total;
    expect(writerOnly).toBeGreaterThan(0);
  });

  test("a worker with tools looks up the reviewer's follow-up queries before revising", async () => {
    const directory = await mkdtemp(join(tmpdir(), "review-sources-"));
    await writeFile(join(directory, "moon.md"), "# Moon\n\nThe moon pulls the oceans.\n");
    await writeFile(
      join(directory, "spring.md"),
      "# Spring tides\n\nSpring tides come at full moon.\n",
    );
    const model = new ScriptedChatModel({
      // No tool calls while writing: the only search is the reviewer's follow-up.
      act: () => undefined,
      reviewAnswer: (call) =>
        revisionOf(call) === 0
          ? {
              pass: false,
              feedback: "Say when tides are highest.",
              followUpQueries: ["spring tides"],
            }
          : { pass: true, feedback: "", followUpQueries: [] },
    });
    const tools = [await createSourcesTool({ directory })];
    const { result } = await run(
      model,
      { sectionReview: { enabled: true, maxRevisions: 1 } },
      tools as never,
    );
    const revision = model.writeCalls.find((call) => call.prompt.includes("<Reviewer feedback>"))!;
    expect(revision.prompt).toMatch(
      /<Sources>[\s\S]*spring\.md:1-3[\s\S]*Spring tides come at full moon/,
    );
    for (const section of result.completedSections) {
      expect(section.review).toEqual({ passed: true, revisions: 1 });
      expect((section.consulted ?? []).map((source) => source.key)).toContain("spring.md:1-3");
    }
  });

  test("a reviewer that fails keeps the section as written, with a warning", async () => {
    const model = new ScriptedChatModel({
      reviewAnswer: () => {
        throw new Error("reviewer is down");
      },
    });
    const { result } = await run(model, {
      sectionReview: { enabled: true, maxRevisions: 2 },
      maxRetries: 0,
    });
    expect(result.failedSections).toEqual([]);
    expect(result.completedSections).toHaveLength(3);
    for (const section of result.completedSections) {
      expect(section.content).toBe(`Body of ${section.name}.`);
      expect(section.review).toMatchObject({ passed: false, revisions: 0 });
      expect(section.review!.error).toMatch(/reviewer is down/);
    }
    expect(result.warnings.filter((warning) => /review of section/.test(warning))).toHaveLength(3);
  });

  test("without sectionReview there is no reviewer call and no review record", async () => {
    const model = new ScriptedChatModel();
    const { result } = await run(model, {});
    expect(model.reviewCalls).toHaveLength(0);
    expect(result.completedSections.every((section) => section.review === undefined)).toBe(true);
    expect(result.usage!.reviewer).toBeUndefined();
  });
});
