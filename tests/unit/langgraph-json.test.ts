import { mkdtemp, writeFile, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { checkLanggraphJson } from "../../scripts/check-langgraph-json.js";

describe("langgraph.json", () => {
  test("every graph path exports a compiled graph, on Node 20", async () => {
    expect(await checkLanggraphJson(resolve("langgraph.json"))).toEqual([]);
  });

  test("the check fails for a wrong export name and a missing file", async () => {
    const directory = await mkdtemp(join(tmpdir(), "lgjson-"));
    const config = JSON.parse(await readFile("langgraph.json", "utf8")) as Record<string, unknown>;
    const graphPath = resolve("src/graph/graph.ts");
    await writeFile(
      join(directory, "langgraph.json"),
      JSON.stringify({
        ...config,
        graphs: {
          wrong: `${graphPath}:nope`,
          missing: "./missing.ts:graph",
          notGraph: `${graphPath}:GRAPH_NAME`,
        },
      }),
    );
    expect(await checkLanggraphJson(join(directory, "langgraph.json"))).toEqual([
      `graph "wrong": ${graphPath} has no export named "nope"`,
      `graph "missing": ./missing.ts does not exist`,
      `graph "notGraph": ${graphPath}:GRAPH_NAME is not a compiled graph`,
    ]);
  });
});
