/**
 * A small MCP server over streamable HTTP on 127.0.0.1 (a free port), built with the MCP SDK's
 * `McpServer` and `StreamableHTTPServerTransport` (stateless: one server per request, as the SDK
 * suggests). Its one tool, `lookup_ledger`, answers with a token only it knows and counts its calls,
 * so a test can tell that a call really reached it; every request's headers and every handshake
 * are recorded.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { z } from "zod";
import { readBody } from "../../src/testing/http.js";

export interface LedgerServer {
  /** The MCP endpoint, `http://127.0.0.1:<port>/mcp`. */
  url: string;
  /** The text only this server returns, in every answer of its tool. */
  token: string;
  /** The arguments of every `lookup_ledger` call it answered. */
  calls: { entry: string }[];
  /** Headers of every HTTP request it received. */
  headers: IncomingHttpHeaders[];
  /** MCP handshakes it answered (`initialize` requests): one per client that connected. */
  initializations(): number;
  close(): Promise<void>;
}

export async function startLedgerServer(): Promise<LedgerServer> {
  const token = `ledger-${randomUUID()}`;
  const calls: { entry: string }[] = [];
  const headers: IncomingHttpHeaders[] = [];
  let initializations = 0;
  const http = createServer((request, response) => {
    headers.push(request.headers);
    if (request.url !== "/mcp") {
      response.writeHead(404).end();
      return;
    }
    const server = new McpServer({ name: "ledger", version: "1.0.0" });
    server.registerTool(
      "lookup_ledger",
      {
        description: "Looks up an entry in the team's ledger.",
        inputSchema: { entry: z.string().describe("The entry to look up.") },
      },
      ({ entry }) => {
        calls.push({ entry });
        return { content: [{ type: "text", text: `Ledger entry ${entry}: ${token}` }] };
      },
    );
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    response.on("close", () => {
      void transport.close();
      void server.close();
    });
    void readBody(request)
      .then(async (text) => {
        const body: unknown = text ? JSON.parse(text) : undefined;
        if ((body as { method?: string } | undefined)?.method === "initialize")
          initializations += 1;
        await server.connect(transport);
        await transport.handleRequest(request, response, body);
      })
      .catch(() => {
        if (!response.headersSent) response.writeHead(500).end();
      });
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    token,
    calls,
    headers,
    initializations: () => initializations,
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}
