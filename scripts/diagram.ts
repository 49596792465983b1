/**
 * Prints the graph's Mermaid diagram, drawn from the compiled graph itself; with `--write`, puts
 * it into README.md between the `graph-diagram` markers; with `--check`, fails when the README's
 * copy differs from the graph (`npm run check` runs this).
 */
import { readFile, writeFile } from "node:fs/promises";
import { pathToFileURL } from "node:url";
import { buildGraph } from "../src/graph/graph.js";

const START_MARKER = "<!-- graph-diagram:start (npm run diagram -- --write) -->";
const END_MARKER = "<!-- graph-diagram:end -->";

/** The Mermaid source of the report graph. */
export async function graphMermaid(): Promise<string> {
  const graph = buildGraph({ offline: true, onOfflineModel: () => undefined });
  return (await graph.getGraphAsync()).drawMermaid().trim();
}

/** The README's diagram block for `mermaid`. */
export function diagramBlock(mermaid: string): string {
  return `${START_MARKER}\n\n\`\`\`mermaid\n${mermaid}\n\`\`\`\n\n${END_MARKER}`;
}

/** The diagram block currently in `readme`, or undefined when the markers are missing. */
export function readmeDiagram(readme: string): string | undefined {
  const start = readme.indexOf(START_MARKER);
  const end = readme.indexOf(END_MARKER);
  if (start < 0 || end < start) return undefined;
  return readme.slice(start, end + END_MARKER.length);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const block = diagramBlock(await graphMermaid());
  if (process.argv.includes("--check")) {
    const current = readmeDiagram(await readFile("README.md", "utf8"));
    if (current !== block) {
      console.error("README.md's graph diagram is out of date: run `npm run diagram -- --write`.");
      process.exitCode = 1;
    } else {
      console.log("README.md's graph diagram matches the graph");
    }
  } else if (process.argv.includes("--write")) {
    const readme = await readFile("README.md", "utf8");
    const current = readmeDiagram(readme);
    if (!current) throw new Error(`README.md has no ${START_MARKER} ... ${END_MARKER} block.`);
    await writeFile("README.md", readme.replace(current, block));
    console.log("README.md diagram updated");
  } else {
    console.log(block);
  }
}
