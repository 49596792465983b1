import { readFile } from "node:fs/promises";
import * as api from "../../src/index.js";

describe("the public API", () => {
  test("exports the building block and the report graph", () => {
    for (const name of [
      "createOrchestratorWorkers",
      "orchestratorWorkersSchemas",
      "buildGraph",
      "createReportGraph",
      "graph",
      "ConfigurationSchema",
      "InvalidInputError",
      "createSourcesTool",
      "openMcpServers",
    ]) {
      expect([name, typeof (api as Record<string, unknown>)[name]]).not.toEqual([
        name,
        "undefined",
      ]);
    }
  });

  test("does not export helpers only the package's own modules use", () => {
    for (const name of [
      "askStructured",
      "retryTransportFailuresOnly",
      "isUnusableAnswerError",
      "formatResults",
      "sourcesIn",
      "secretsOf",
      "readEnvironment",
      "createChatModelProvider",
      "checkCitations",
      "redact",
      "shortMessage",
    ]) {
      expect([name, name in api]).toEqual([name, false]);
    }
  });

  test("the README's custom-worker example is under 40 lines", async () => {
    const readme = await readFile("README.md", "utf8");
    const section = readme.split("\n## The building block: `createOrchestratorWorkers`\n")[1]!;
    const example = /```ts\n([\s\S]*?)```/.exec(section)![1]!;
    expect(example).toContain("worker: async");
    expect(example.trimEnd().split("\n").length).toBeLessThan(40);
  });
});
