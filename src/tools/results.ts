import { MAX_TOOL_OUTPUT_CHARACTERS, type ToolResult } from "../schemas/sources.js";

export { MAX_TOOL_OUTPUT_CHARACTERS, sourcesIn, type ToolResult } from "../schemas/sources.js";

/** Most characters of one passage's text in a tool result. */
const MAX_PASSAGE_CHARACTERS = 1500;

/**
 * A tool's output for the model: JSON `{ query, results }`, each passage's text cut to a bound and
 * passages dropped from the end until the whole stays under `MAX_TOOL_OUTPUT_CHARACTERS`.
 */
export function formatResults(query: string, results: ToolResult[]): string {
  let kept = results.map((result) => ({
    ...result,
    text: result.text.slice(0, MAX_PASSAGE_CHARACTERS),
  }));
  let output = JSON.stringify({ query, results: kept });
  while (output.length > MAX_TOOL_OUTPUT_CHARACTERS && kept.length > 0) {
    kept = kept.slice(0, -1);
    output = JSON.stringify({ query, results: kept });
  }
  return output;
}
