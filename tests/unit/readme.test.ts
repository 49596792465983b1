import { readFile } from "node:fs/promises";
import { parseArguments } from "../../src/cli/options.js";
import { ConfigurationSchema, DEFAULT_ROLES } from "../../src/schemas/configuration.js";
import { DEFAULT_PRICES } from "../../src/schemas/usage.js";
import {
  AGGREGATOR_SYSTEM_PROMPT,
  PLANNER_SYSTEM_PROMPT,
  REVIEWER_SYSTEM_PROMPT,
  VERIFIER_SYSTEM_PROMPT,
  WRITER_SYSTEM_PROMPT,
} from "../../src/schemas/prompts.js";

describe("README", () => {
  test("the configuration table lists every field with its real default", async () => {
    const readme = await readFile("README.md", "utf8");
    const defaults = ConfigurationSchema.parse({}) as Record<string, unknown>;
    const prompts = new Map<unknown, string>([
      [PLANNER_SYSTEM_PROMPT, "PLANNER_SYSTEM_PROMPT"],
      [WRITER_SYSTEM_PROMPT, "WRITER_SYSTEM_PROMPT"],
      [AGGREGATOR_SYSTEM_PROMPT, "AGGREGATOR_SYSTEM_PROMPT"],
      [VERIFIER_SYSTEM_PROMPT, "VERIFIER_SYSTEM_PROMPT"],
      [REVIEWER_SYSTEM_PROMPT, "REVIEWER_SYSTEM_PROMPT"],
    ]);
    const shownAs = (value: unknown) =>
      prompts.get(value) ??
      (JSON.stringify(value) === JSON.stringify(DEFAULT_ROLES)
        ? "DEFAULT_ROLES"
        : JSON.stringify(value) === JSON.stringify(DEFAULT_PRICES)
          ? "DEFAULT_PRICES"
          : typeof value === "object"
            ? JSON.stringify(value)
            : `${value as string | number | boolean}`);
    for (const [field, value] of Object.entries(defaults)) {
      const row = new RegExp(`^\\| \`${field}\` +\\| ([^|]+)\\|`, "m").exec(readme);
      expect([field, row ? "listed" : "missing"]).toEqual([field, "listed"]);
      const shown = shownAs(value);
      expect([field, row![1]!.includes(`\`${shown}\``)]).toEqual([field, true]);
    }
  });

  test("the Command line block is what --help prints", async () => {
    const readme = await readFile("README.md", "utf8");
    const block = /^## Command line\n\n```\n([\s\S]*?)```/m.exec(readme)?.[1];
    let printed = "";
    const code = parseArguments(["--help"], {
      stdout: (text) => (printed += text),
      stderr: (text) => (printed += text),
    });
    expect(code).toBe(0);
    expect(block).toBe(printed);
  });
});
