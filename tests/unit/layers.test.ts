import { ESLint } from "eslint";
import tseslint from "typescript-eslint";
import layers from "../../eslint.layers.js";

/** Lints `code` as if it were the file at `filePath`, with only the layering rule. */
async function violations(filePath: string, code: string): Promise<string[]> {
  const eslint = new ESLint({
    overrideConfigFile: true,
    overrideConfig: [
      { files: ["**/*.ts"], languageOptions: { parser: tseslint.parser } },
      ...layers,
    ],
  });
  const [result] = await eslint.lintText(code, { filePath });
  return result!.messages.map((message) => `${message.ruleId}: ${message.message}`);
}

describe("layers point one way (npm run lint enforces it)", () => {
  test.each([
    ["src/schemas/plan.ts", 'import { dispatch } from "../nodes/dispatch.js";'],
    ["src/schemas/plan.ts", 'import { OfflineChatModel } from "../models/offline-chat-model.js";'],
    ["src/models/chat-models.ts", 'import { sourcesIn } from "../tools/results.js";'],
    ["src/tools/sources.ts", 'import { chatModelName } from "../models/chat-models.js";'],
    ["src/nodes/worker.ts", 'import { dispatch } from "./dispatch.js";'],
    ["src/nodes/worker.ts", 'import { graph } from "../graph/graph.js";'],
    ["src/graph/graph.ts", 'import { runCli } from "../cli/main.js";'],
    ["src/cli/main.ts", 'import { ScriptedChatModel } from "../testing/index.js";'],
    ["src/models/chat-models.ts", 'import { headings } from "../../tests/helpers/report.js";'],
  ])("%s may not say %s", async (filePath, code) => {
    const found = await violations(filePath, code);
    expect(found.length).toBeGreaterThan(0);
    for (const message of found) expect(message).toMatch(/^no-restricted-imports: /);
  });

  test.each([
    ["src/nodes/worker.ts", 'import { askStructured } from "../models/structured-output.js";'],
    ["src/graph/graph.ts", 'import { dispatch } from "../nodes/dispatch.js";'],
    ["src/cli/main.ts", 'import { buildGraph } from "../graph/graph.js";'],
    ["src/testing/index.ts", 'import { LocalChatModel } from "../models/local-chat-model.js";'],
    ["src/models/offline-chat-model.ts", 'import { promptBlocks } from "../schemas/prompts.js";'],
  ])("%s may say %s", async (filePath, code) => {
    expect(await violations(filePath, code)).toEqual([]);
  });
});
