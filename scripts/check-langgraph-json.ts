/**
 * Checks that every graph in langgraph.json names a module that exists and exports a compiled
 * graph under the given name. Exits 1 with one line per problem; `npm run lint:langgraph-json`.
 */
import { readFile, access } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { pathToFileURL } from "node:url";

/** Returns the problems found in the langgraph.json at `configPath` (none when it is right). */
export async function checkLanggraphJson(configPath: string): Promise<string[]> {
  const problems: string[] = [];
  const config = JSON.parse(await readFile(configPath, "utf8")) as {
    graphs?: Record<string, string>;
    node_version?: string;
  };
  if (config.node_version !== "20")
    problems.push(`node_version is ${config.node_version}, expected "20"`);
  const graphs = Object.entries(config.graphs ?? {});
  if (graphs.length === 0) problems.push("no graphs are listed");
  for (const [id, spec] of graphs) {
    const [path, exportName = "default"] = spec.split(":");
    const file = resolve(dirname(configPath), path!);
    try {
      await access(file);
    } catch {
      problems.push(`graph "${id}": ${path} does not exist`);
      continue;
    }
    const module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    const exported = module[exportName] as
      { invoke?: unknown; getGraphAsync?: unknown } | undefined;
    if (exported === undefined) {
      problems.push(`graph "${id}": ${path} has no export named "${exportName}"`);
    } else if (
      typeof exported.invoke !== "function" ||
      typeof exported.getGraphAsync !== "function"
    ) {
      problems.push(`graph "${id}": ${path}:${exportName} is not a compiled graph`);
    }
  }
  return problems;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const problems = await checkLanggraphJson(resolve(process.argv[2] ?? "langgraph.json"));
  for (const problem of problems) console.error(`langgraph.json: ${problem}`);
  if (problems.length === 0)
    console.log("langgraph.json: every graph path exports a compiled graph");
  process.exitCode = problems.length ? 1 : 0;
}
