/**
 * What an MCP server offers is bounded before any model sees it (issue 23): a real stdio server
 * listing 200 tools and names that providers refuse (a slash, spaces, a newline, over 64
 * characters, a duplicate).
 */
import { resolve } from "node:path";
import { MAX_MCP_TOOLS, openMcpServers } from "../../src/tools/mcp.js";

const SERVER = resolve("tests/helpers/many-tools-mcp-server.js");

describe("MCP tools a server offers", () => {
  test("names a provider would refuse, duplicates and tools past the bound are left out, each kind in one warning", async () => {
    const warnings: string[] = [];
    const badNames = ["a/b", "two words", "line\nbreak\u001b[31m", "x".repeat(70)];
    const connections = await openMcpServers(
      {
        many: {
          command: process.execPath,
          args: [SERVER],
          env: {
            MANY_TOOLS: "200",
            TOOL_NAMES: JSON.stringify(["dup", ...badNames, "dup"]),
          },
        },
      },
      { onWarning: (message) => warnings.push(message) },
    );
    try {
      const names = connections.tools.map((tool) => tool.name);
      expect(names).toHaveLength(MAX_MCP_TOOLS);
      expect(names[0]).toBe("many__dup");
      expect(names[1]).toBe("many__tool_1");
      for (const name of names) expect(name).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
      expect(new Set(names).size).toBe(names.length);
      expect(connections.servers).toEqual([{ name: "many", tools: names }]);
      expect(warnings).toHaveLength(3);
      expect(warnings[0]).toMatch(/^MCP server many: 4 tools left out, named with characters/);
      expect(warnings[0]).toContain('"many__a/b"');
      // Control characters in a name reach no terminal as they are.
      const controls = warnings.flatMap((warning) =>
        [...warning].filter((character) => character.codePointAt(0)! < 0x20),
      );
      expect(controls).toEqual([]);
      expect(warnings[1]).toMatch(/^MCP server many: 1 tool left out whose name another tool/);
      expect(warnings[2]).toMatch(/^MCP server many: 73 tools left out past 128 tools in all/);
      // The tools kept still work.
      const answer: unknown = await connections.tools[1]!.invoke({});
      expect(String(answer)).toContain("ok");
    } finally {
      await connections.close();
    }
  }, 60_000);
});
