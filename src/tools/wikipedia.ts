import { tool } from "@langchain/core/tools";
import { z } from "zod";
import { formatResults, type ToolResult } from "./results.js";

/** Default MediaWiki site: English Wikipedia. */
export const DEFAULT_WIKIPEDIA_URL = "https://en.wikipedia.org";

interface SearchResponse {
  query?: { pages?: Record<string, { title?: string; extract?: string; index?: number }> };
}

/**
 * A Wikipedia search-and-summary tool over the public MediaWiki API (`/w/api.php`): one request
 * finds the best-matching articles and returns their introductions, each citable by title and URL.
 * `baseUrl` points it at another MediaWiki site, or at a local fake in tests.
 */
export function createWikipediaTool(
  options: { baseUrl?: string; maxResults?: number; timeoutMs?: number } = {},
) {
  const baseUrl = (options.baseUrl ?? DEFAULT_WIKIPEDIA_URL).replace(/\/+$/, "");
  const maxResults = options.maxResults ?? 3;
  return tool(
    async ({ query }): Promise<string> => {
      const url = new URL(`${baseUrl}/w/api.php`);
      url.search = new URLSearchParams({
        action: "query",
        format: "json",
        generator: "search",
        gsrsearch: query,
        gsrlimit: String(maxResults),
        prop: "extracts",
        exintro: "1",
        explaintext: "1",
        exlimit: String(maxResults),
      }).toString();
      const response = await fetch(url, {
        headers: { "user-agent": "orchestrator-workers (report writer)" },
        signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
      });
      if (!response.ok)
        throw new Error(`Wikipedia answered ${response.status} ${response.statusText}`);
      const body = (await response.json()) as SearchResponse;
      const pages = Object.values(body.query?.pages ?? {}).sort(
        (a, b) => (a.index ?? 0) - (b.index ?? 0),
      );
      const results: ToolResult[] = pages.flatMap((page) =>
        page.title
          ? [
              {
                key: `wikipedia:${page.title}`,
                title: page.title,
                location: `${baseUrl}/wiki/${encodeURIComponent(page.title.replace(/ /g, "_"))}`,
                text: page.extract ?? "",
              },
            ]
          : [],
      );
      return formatResults(query, results);
    },
    {
      name: "search_wikipedia",
      description:
        "Search Wikipedia and read the introductions of the best-matching articles. Returns passages with their citation keys.",
      schema: z.object({ query: z.string().describe("What to look up, in a few words.") }),
    },
  );
}
