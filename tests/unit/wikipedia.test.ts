import { createWikipediaTool } from "../../src/tools/wikipedia.js";
import { buildGraph } from "../../src/graph/graph.js";
import { startWikipediaServer } from "../helpers/wikipedia-server.js";
import { ScriptedChatModel, defaultPlan } from "../../src/testing/index.js";

describe("the Wikipedia tool", () => {
  test("searches the MediaWiki API and returns article introductions citable by title and URL", async () => {
    const wiki = await startWikipediaServer({
      pages: [
        { title: "Tide", extract: "Tides are the rise and fall of sea levels." },
        { title: "Tidal force", extract: "A tidal force is a gravitational effect." },
      ],
    });
    try {
      const search = createWikipediaTool({ baseUrl: wiki.baseUrl });
      const output = JSON.parse(await search.invoke({ query: "tides" })) as {
        results: { key: string; title: string; location: string; text: string }[];
      };
      expect(output.results).toEqual([
        {
          key: "wikipedia:Tide",
          title: "Tide",
          location: `${wiki.baseUrl}/wiki/Tide`,
          text: "Tides are the rise and fall of sea levels.",
        },
        {
          key: "wikipedia:Tidal force",
          title: "Tidal force",
          location: `${wiki.baseUrl}/wiki/Tidal_force`,
          text: "A tidal force is a gravitational effect.",
        },
      ]);
      expect(wiki.queries[0]!.get("gsrsearch")).toBe("tides");
      expect(wiki.queries[0]!.get("generator")).toBe("search");
    } finally {
      await wiki.close();
    }
  });

  test("a failing wiki becomes an error message to the model, and the section is still written", async () => {
    const wiki = await startWikipediaServer({ status: 503 });
    try {
      const model = new ScriptedChatModel({
        plan: defaultPlan(1),
        act: (call) =>
          !call.toolChoice && call.tools.length > 0 && call.toolResults.length === 0
            ? { toolCalls: [{ name: "search_wikipedia", args: { query: "tides" } }] }
            : undefined,
      });
      const result = await buildGraph({
        model,
        tools: [createWikipediaTool({ baseUrl: wiki.baseUrl })],
      }).invoke({
        topic: "Tides",
      });
      expect(result.failedSections).toEqual([]);
      expect(model.writeCalls[1]!.toolResults[0]).toMatch(/^Tool error: .*503/);
    } finally {
      await wiki.close();
    }
  });
});
