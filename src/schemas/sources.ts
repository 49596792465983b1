import type { Source } from "./section.js";

/** Most characters of one tool result the model sees: tool output is untrusted and bounded. */
export const MAX_TOOL_OUTPUT_CHARACTERS = 6000;

/** One passage a tool returns; `key` is what the writer cites in square brackets. */
export interface ToolResult extends Source {
  text: string;
}

/**
 * Reads the sources out of a tool's output. Tools of this package return
 * `{ results: [{ key, title, location, text }] }` as JSON; other tools' output yields none.
 */
export function sourcesIn(output: string): Source[] {
  return passagesIn(output).map(({ key, title, location }) => ({ key, title, location }));
}

/** True when a tool's output is a `{ results: [...] }` list of passages, even an empty one. */
export function isPassageList(output: string): boolean {
  try {
    return Array.isArray((JSON.parse(output) as { results?: unknown } | null)?.results);
  } catch {
    return false;
  }
}

/** The passages of a tool's output in the `{ results: [...] }` shape, with their text. */
export function passagesIn(output: string): ToolResult[] {
  try {
    const parsed = JSON.parse(output) as { results?: unknown };
    if (!Array.isArray(parsed.results)) return [];
    return parsed.results.flatMap((result: Partial<ToolResult>) =>
      typeof result.key === "string" && typeof result.title === "string"
        ? [
            {
              key: result.key,
              title: result.title,
              location: String(result.location ?? ""),
              text: typeof result.text === "string" ? result.text : "",
            },
          ]
        : [],
    );
  } catch {
    return [];
  }
}
