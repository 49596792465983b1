import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tool } from "@langchain/core/tools";
import { z } from "zod";
import { buildGraph } from "../../src/graph/graph.js";
import { createSourcesTool } from "../../src/tools/sources.js";
import { sourcesIn } from "../../src/tools/results.js";
import { InvalidInputError } from "../../src/errors.js";
import {
  ScriptedChatModel,
  defaultPlan,
  sectionNameOf,
  type RecordedCall,
} from "../../src/testing/index.js";

async function sourcesDirectory(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), "sources-"));
  await mkdir(join(directory, "notes"));
  await writeFile(
    join(directory, "moon.md"),
    "# The Moon\n\nThe Moon's gravity pulls the oceans toward it.\nThis makes the high tide.\n\n## Distance\n\nThe Moon is 384,400 km away.\n",
  );
  await writeFile(
    join(directory, "notes", "sun.txt"),
    "The Sun pulls the oceans too.\nSpring tides happen when they align.\n",
  );
  await writeFile(join(directory, "image.png"), "not text");
  return directory;
}

/** A writer that searches once for its section, then writes citing every key it got back. */
function searchThenCite(call: RecordedCall) {
  if (call.toolChoice) return undefined;
  const name = sectionNameOf(call.prompt)!;
  if (call.tools.length > 0 && call.toolResults.length === 0) {
    return { toolCalls: [{ name: "search_sources", args: { query: name } }] };
  }
  const keys = call.toolResults.flatMap((result) => sourcesIn(result).map((source) => source.key));
  return { content: `About ${name}: ${keys.map((key) => `[${key}]`).join(" ")}.` };
}

describe("the sources tool", () => {
  test("finds ranked passages with file path and line range, in Markdown and text files only", async () => {
    const search = await createSourcesTool({ directory: await sourcesDirectory() });
    const output = JSON.parse(await search.invoke({ query: "moon gravity" })) as {
      results: { key: string; title: string; location: string; text: string }[];
    };
    expect(output.results[0]).toEqual({
      key: "moon.md:1-4",
      title: "moon.md",
      location: "lines 1-4",
      text: "# The Moon\n\nThe Moon's gravity pulls the oceans toward it.\nThis makes the high tide.",
    });
    const spring = JSON.parse(await search.invoke({ query: "spring" })) as {
      results: { key: string }[];
    };
    expect(spring.results.map((result) => result.key)).toEqual(["notes/sun.txt:1-2"]);
  });

  test("an unreadable or empty directory is refused with a clear error", async () => {
    await expect(createSourcesTool({ directory: "/nonexistent" })).rejects.toThrow(
      /Cannot read the sources directory/,
    );
    const empty = await mkdtemp(join(tmpdir(), "empty-"));
    const error: unknown = await createSourcesTool({ directory: empty }).catch(
      (caught: unknown) => caught,
    );
    expect(InvalidInputError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/no Markdown or text files/);
  });
});

describe("tool-using workers", () => {
  test("run the tools, record the sources they cite, and the report cites them as [n] with one References list", async () => {
    const model = new ScriptedChatModel({
      plan: [
        { name: "moon gravity", description: "The Moon's pull." },
        { name: "spring tides", description: "When they align." },
      ],
      act: searchThenCite,
    });
    const search = await createSourcesTool({ directory: await sourcesDirectory() });
    const result = await buildGraph({ model, tools: [search] }).invoke({ topic: "Tides" });

    expect(model.writeCalls).toHaveLength(4); // one search, one answer, per section
    expect(model.writeCalls.every((call) => call.tools.includes("search_sources"))).toBe(true);
    const moon = result.completedSections.find((section) => section.id === "s1")!;
    expect(moon.sources?.map((source) => source.key)).toContain("moon.md:1-4");
    expect(moon.steps).toBe(2);
    expect(moon.hitStepLimit).toBe(false);
    expect(result.report).toMatch(/## moon gravity\n\nAbout moon gravity: \[1\]/);
    expect(result.report).not.toMatch(/\[moon\.md/);
    const references = result.report.split("## References\n\n")[1]!.split("\n\n")[0]!;
    expect(references).toMatch(/^1\. moon\.md, lines 1-4$/m);
    // Each source is listed once, however many sections cite it.
    const lines = references.trim().split("\n");
    expect(new Set(lines.map((line) => line.replace(/^\d+\. /, ""))).size).toBe(lines.length);
  });

  test("a worker never makes more than maxWorkerSteps model calls; at the limit it writes without tools", async () => {
    const search = tool(() => JSON.stringify({ results: [] }), {
      name: "search_sources",
      description: "search",
      schema: z.object({ query: z.string() }),
    });
    const model = new ScriptedChatModel({
      plan: defaultPlan(2),
      // A model that would search forever.
      act: (call) =>
        !call.toolChoice && call.tools.length > 0
          ? { toolCalls: [{ name: "search_sources", args: { query: "more" } }] }
          : undefined,
    });
    const result = await buildGraph({ model, tools: [search] }).invoke(
      { topic: "Tides" },
      { configurable: { maxWorkerSteps: 3 } },
    );
    for (const name of ["Part 1", "Part 2"]) {
      const calls = model.writeCalls.filter((call) => sectionNameOf(call.prompt) === name);
      expect(calls).toHaveLength(3);
      expect(calls.map((call) => call.tools.length > 0)).toEqual([true, true, false]);
    }
    expect(
      result.completedSections.every((section) => section.hitStepLimit && section.steps === 3),
    ).toBe(true);
    expect(result.failedSections).toEqual([]);
  });

  test("a tool that throws becomes an error message to the model, not a failed section", async () => {
    const broken = tool(
      () => {
        throw new Error("index unavailable");
      },
      { name: "search_sources", description: "search", schema: z.object({ query: z.string() }) },
    );
    const model = new ScriptedChatModel({ plan: defaultPlan(1), act: searchThenCite });
    const result = await buildGraph({ model, tools: [broken] }).invoke({ topic: "Tides" });
    expect(result.failedSections).toEqual([]);
    expect(model.writeCalls[1]!.toolResults).toEqual(["Tool error: Error: index unavailable"]);
    expect(result.completedSections[0]!.sources).toEqual([]);
  });

  test("without tools a worker makes exactly one call and records no tool fields", async () => {
    const model = new ScriptedChatModel({ plan: defaultPlan(3) });
    const result = await buildGraph({ model }).invoke({ topic: "Tides" });
    expect(model.writeCalls).toHaveLength(3);
    expect(result.completedSections.every((section) => section.steps === undefined)).toBe(true);
    expect(result.report).not.toMatch(/References/);
  });
});
