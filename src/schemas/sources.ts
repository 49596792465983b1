import type { Source } from "./section.js";

/** One passage a tool returns; `key` is what the writer cites in square brackets. */
export interface ToolResult extends Source {
  text: string;
}

/**
 * Reads the sources out of a tool's output. Tools of this package return
 * `{ results: [{ key, title, location, text }] }` as JSON; other tools' output yields none.
 */
export function sourcesIn(output: string): Source[] {
  try {
    const parsed = JSON.parse(output) as { results?: unknown };
    if (!Array.isArray(parsed.results)) return [];
    return parsed.results.flatMap((result: Partial<ToolResult>) =>
      typeof result.key === "string" && typeof result.title === "string"
        ? [{ key: result.key, title: result.title, location: String(result.location ?? "") }]
        : [],
    );
  } catch {
    return [];
  }
}
