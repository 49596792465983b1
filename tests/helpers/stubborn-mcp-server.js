/**
 * A stdio MCP server that, unlike most, keeps running when its stdin closes: only a signal stops
 * it. A client that exits without closing it leaves it behind, so tests use it to tell "closed"
 * from "exited on its own". Usage: node stubborn-mcp-server.js <folder>; each start appends the
 * process id to <folder>/stubborn-starts.log.
 */
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";

const folder = process.argv[2];
if (!folder) throw new Error("usage: stubborn-mcp-server.js <folder>");
appendFileSync(join(folder, "stubborn-starts.log"), `${process.pid}\n`);
const server = new McpServer({ name: "stubborn", version: "1.0.0" });
server.registerTool("ping", { description: "Answers pong." }, () => ({
  content: [{ type: "text", text: "pong" }],
}));
await server.connect(new StdioServerTransport());
globalThis.setInterval(() => undefined, 60_000);
