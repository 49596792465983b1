import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/** A fake MediaWiki API on 127.0.0.1: `/w/api.php` answers a generator=search query with `pages`. */
export async function startWikipediaServer(options: {
  pages?: { title: string; extract: string }[];
  status?: number;
}) {
  const queries: URLSearchParams[] = [];
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    if (url.pathname !== "/w/api.php") {
      response.writeHead(404).end();
      return;
    }
    queries.push(url.searchParams);
    if (options.status && options.status !== 200) {
      response.writeHead(options.status).end("unavailable");
      return;
    }
    const pages = Object.fromEntries(
      (options.pages ?? []).map((page, index) => [
        String(1000 + index),
        { ...page, index: index + 1 },
      ]),
    );
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify({ batchcomplete: "", query: { pages } }));
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    queries,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}
