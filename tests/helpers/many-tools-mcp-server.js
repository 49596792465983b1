/**
 * A stdio MCP server that lists whatever tools it is told to, names and all, as a hostile or
 * careless server may: `MANY_TOOLS` plain tools (`tool_1`, `tool_2`, ...) after the names in
 * `TOOL_NAMES` (a JSON array: duplicates, slashes, spaces, newlines, over 64 characters...). Every
 * tool answers "ok". Usage: MANY_TOOLS=200 TOOL_NAMES='["a b","a b"]' node many-tools-mcp-server.js
 */
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";

const names = [
  ...JSON.parse(process.env.TOOL_NAMES ?? "[]"),
  ...Array.from({ length: Number(process.env.MANY_TOOLS ?? 0) }, (_, index) => `tool_${index + 1}`),
];
const server = new Server({ name: "many", version: "1.0.0" }, { capabilities: { tools: {} } });
server.setRequestHandler(ListToolsRequestSchema, () => ({
  tools: names.map((name) => ({
    name,
    description: `The tool ${name}.`,
    inputSchema: { type: "object", properties: {} },
  })),
}));
server.setRequestHandler(CallToolRequestSchema, () => ({
  content: [{ type: "text", text: "ok" }],
}));
await server.connect(new StdioServerTransport());
