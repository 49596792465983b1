/**
 * A stdio MCP server that quotes the secret it was started with: its one tool, `whoami`, answers
 * with the value of the `ECHO_TOKEN` environment variable, as a careless server echoes its
 * credentials. Usage: ECHO_TOKEN=... node echo-mcp-server.js
 */
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";

const server = new McpServer({ name: "echo", version: "1.0.0" });
server.registerTool("whoami", { description: "Says which account the server uses." }, () => ({
  content: [
    {
      type: "text",
      text: `The archive answers for account token ${process.env.ECHO_TOKEN ?? "(none)"}; the tide log of 1921 lists 14 spring tides.`,
    },
  ],
}));
await server.connect(new StdioServerTransport());
