/**
 * Issue 23, secrets: the one redaction applied where text enters the graph. A model that quotes a
 * configured secret in its plan, its sections and its review feedback leaves none of it in the
 * state, the checkpointer's saved checkpoints or the progress events; a shortened message is
 * redacted before it is cut.
 */
import { MemorySaver } from "@langchain/langgraph";
import { REDACTED, redact, redactValue, shortMessage } from "../../src/errors.js";
import { buildGraph } from "../../src/graph/graph.js";
import type { ProgressEvent } from "../../src/schemas/events.js";
import { ScriptedChatModel } from "../../src/testing/index.js";

const SECRET = "sk-unit-quoted-Qm3Rt8Zp1Wx";

describe("redaction where text enters the graph", () => {
  test("a model quoting a secret in its plan, its sections and its review feedback: no state, checkpoint or progress event holds it", async () => {
    const model = new ScriptedChatModel({
      plan: [
        { name: "Part 1", description: `Why ${SECRET} matters.` },
        { name: "Part 2", description: "The second part." },
      ],
      write: (name) => `Body of ${name}, quoting ${SECRET}.`,
      reviewAnswer: () => ({
        pass: false,
        feedback: `Do not print ${SECRET}.`,
        followUpQueries: [],
      }),
    });
    const checkpointer = new MemorySaver();
    const graph = buildGraph({ model, secrets: [SECRET], checkpointer });
    const events: ProgressEvent[] = [];
    const configurable = {
      thread_id: "quoted",
      sectionReview: { enabled: true, maxRevisions: 1 },
    };
    for await (const [mode, chunk] of await graph.stream(
      { topic: "How tides work" },
      { configurable, streamMode: ["custom", "values"] },
    )) {
      if (mode === "custom") events.push(chunk as ProgressEvent);
    }
    const state = await graph.getState({ configurable });
    const values = state.values as { report: string; completedSections: { content: string }[] };
    // The model did quote the secret: each quote is replaced, the text around it kept.
    expect(values.completedSections[0]!.content).toContain(`quoting ${REDACTED}.`);
    expect(values.report).toContain(`quoting ${REDACTED}.`);
    expect(events).toContainEqual(
      expect.objectContaining({ type: "section_reviewed", feedback: `Do not print ${REDACTED}.` }),
    );
    // The writer's prompts were made from the redacted plan and the redacted feedback.
    expect(model.writeCalls.map((call) => call.prompt).join("\n")).not.toContain(SECRET);
    const saved: unknown[] = [];
    for await (const tuple of checkpointer.list({ configurable: { thread_id: "quoted" } })) {
      saved.push(tuple.checkpoint, tuple.pendingWrites);
    }
    expect(saved.length).toBeGreaterThan(0);
    for (const text of [
      JSON.stringify(state.values),
      JSON.stringify(saved),
      JSON.stringify(events),
    ]) {
      expect(text).not.toContain(SECRET);
    }
  });

  test("shortMessage redacts before it cuts: a secret across the cut leaves no prefix", () => {
    const error = new Error(`${"x".repeat(290)} ${SECRET} and the rest`);
    const redactSecret = (text: string) => redact(text, [SECRET]);
    const cut = shortMessage(error, { withName: false, maxLength: 300, redact: redactSecret });
    expect(cut).toBe(`${"x".repeat(290)} [redacte…`);
    expect(cut).not.toContain(SECRET.slice(0, 4));
    // Redacting after the cut is what leaked: the secret's start survives.
    expect(redactSecret(shortMessage(error, { withName: false, maxLength: 300 }))).toContain(
      SECRET.slice(0, 4),
    );
  });

  test("redactValue redacts every string of plain objects and arrays, keys too, and keeps other objects", () => {
    const kept = new Date(0);
    const value = { [SECRET]: [`a ${SECRET}`, 3, null, { deep: SECRET }], kept };
    const redacted = redactValue(value, (text) => redact(text, [SECRET]));
    expect(redacted).toEqual({
      [REDACTED]: [`a ${REDACTED}`, 3, null, { deep: REDACTED }],
      kept,
    });
    expect(redacted.kept).toBe(kept);
    expect(value[SECRET][0]).toBe(`a ${SECRET}`);
  });
});
