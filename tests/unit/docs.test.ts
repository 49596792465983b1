import { readFile } from "node:fs/promises";
import { z } from "zod";
import {
  CLI_HELP_END,
  CLI_HELP_START,
  CLI_PAGE,
  CONFIGURATION_PAGE,
  cliHelp,
  cliHelpBlock,
  configurationPage,
  stalePages,
  withCliHelp,
  type ReadPage,
} from "../../scripts/docs.js";
import { FIELD_FLAGS, fieldSchemas, parseArguments } from "../../src/cli/options.js";
import { ConfigurationSchema, resolveConfiguration } from "../../src/schemas/configuration.js";

/** The repository's pages, with `changes` in place of some. */
function pages(changes: Record<string, string | undefined> = {}): ReadPage {
  return async (path) =>
    path in changes ? changes[path] : readFile(path, "utf8").catch(() => undefined);
}

/** Text with every run of white space as one space, as a wrapped help reads. */
function flat(text: string): string {
  return text.replace(/\s+/g, " ");
}

describe("the generated docs (npm run docs, checked by npm run check)", () => {
  test("the committed configuration page and --help block are what the generator writes", async () => {
    expect(await stalePages()).toEqual([]);
  });

  test("a changed field description makes the check fail, naming the page and the command", async () => {
    const changed = ConfigurationSchema.extend({
      maxSections: ConfigurationSchema.shape.maxSections.describe("Sections, at most."),
    });
    expect(await configurationPage(changed)).toContain("\n\nSections, at most.\n\n");
    expect(await stalePages({ schema: changed })).toEqual([
      "docs/configuration.md is out of date: run `npm run docs`.",
    ]);
  });

  test("a changed default or a new field makes the check fail too", async () => {
    const newDefault = ConfigurationSchema.extend({
      maxSections: z.number().int().min(1).default(9).describe("Most sections."),
    });
    const newField = ConfigurationSchema.extend({
      tone: z.enum(["plain", "formal"]).default("plain").describe("How the report sounds."),
    });
    for (const schema of [newDefault, newField]) {
      expect(await stalePages({ schema })).toEqual([
        "docs/configuration.md is out of date: run `npm run docs`.",
      ]);
    }
    const page = await configurationPage(newField);
    expect(page).toMatch(
      /^### tone\n\nHow the report sounds\.\n\n- Type: text\n- Allowed values: `plain`, `formal`\n- Default: `plain`\n- CLI: none; /m,
    );
  });

  test("a stale or missing --help block, or a missing page, is named", async () => {
    const cli = await readFile(CLI_PAGE, "utf8");
    const stale = cli.replace("--max-sections <n>", "--sections <n>");
    expect(stale).not.toBe(cli);
    expect(await stalePages({ read: pages({ [CLI_PAGE]: stale }) })).toEqual([
      "docs/cli.md is out of date: run `npm run docs`.",
    ]);
    expect(await stalePages({ read: pages({ [CLI_PAGE]: "# The command line\n" }) })).toEqual([
      `docs/cli.md has no ${CLI_HELP_START} ... ${CLI_HELP_END} block: run \`npm run docs\`.`,
    ]);
    expect(await stalePages({ read: pages({ [CONFIGURATION_PAGE]: undefined }) })).toEqual([
      "docs/configuration.md is missing: run `npm run docs`.",
    ]);
  });

  test("filling the --help block changes no character outside the markers", () => {
    const block = cliHelpBlock("Usage: orchestrator-workers [options]\n");
    const page = `# CLI\n\nBefore $& and $1.\n\n${CLI_HELP_START}\nold\n${CLI_HELP_END}\nAfter.\n`;
    expect(withCliHelp(page, block)).toBe(`# CLI\n\nBefore $& and $1.\n\n${block}\nAfter.\n`);
    expect(withCliHelp(undefined, block)).toBe(`# The command line\n\n${block}\n`);
    expect(block).toBe(
      `${CLI_HELP_START}\n\n\`\`\`text\nUsage: orchestrator-workers [options]\n\`\`\`\n\n${CLI_HELP_END}`,
    );
  });

  test("the configuration page has every field, with its default and the flag that sets it", async () => {
    const page = await configurationPage();
    for (const field of Object.keys(ConfigurationSchema.shape)) {
      expect([field, page.includes(`\n### ${field}\n`)]).toEqual([field, true]);
    }
    expect(page).toMatch(
      /^### maxSections\n\n.+\n\n- Type: whole number\n- Allowed values: 1 or more\n- Default: `8`\n- CLI: `-n, --max-sections <n>`$/m,
    );
    expect(page).toContain("- CLI: `--request-timeout <seconds>` (in seconds)");
    expect(page).toMatch(/^- CLI: `--planner-model <name>`, `-m, --model <name>`$/m);
    expect(page).toMatch(/^- CLI: none; a prompt is long text/m);
  });
});

describe("--help, generated from ConfigurationSchema", () => {
  const schemas = fieldSchemas();
  const help = flat(cliHelp());

  test.each(Object.entries(FIELD_FLAGS).filter(([, flag]) => "flags" in flag))(
    "%s: its flag shows the field's description, choices and default",
    (field, flag) => {
      const schema = schemas[field]!;
      const flags = (flag as { flags: string }).flags;
      expect(schema.description).toBeTruthy();
      const choices = schema.enum
        ? `choices: ${schema.enum.map((value) => JSON.stringify(value)).join(", ")}`
        : undefined;
      const unit = (flag as { unit?: { factor: number } }).unit;
      const shown =
        schema.default === undefined || schema.type === "boolean"
          ? undefined
          : JSON.stringify(unit ? (schema.default as number) / unit.factor : schema.default);
      const extra = [choices, shown === undefined ? undefined : `default: ${shown}`].filter(
        Boolean,
      );
      const entry = `${flags} ${flat(schema.description!)}`;
      expect(help).toContain(entry);
      if (extra.length) expect(help).toContain(`(${extra.join(", ")})`);
    },
  );

  test("a flag sets its field only when given, so a preset's settings stand", () => {
    const quiet = { stdout: () => undefined, stderr: () => undefined };
    const none = parseArguments(["Tides"], quiet);
    const some = parseArguments(
      [
        "Tides",
        "-p",
        "qa",
        "--synthesis-output",
        "answer",
        "--max-retries",
        "0",
        "--request-timeout",
        "2.5",
        "--fail-fast",
        "-n",
        "3",
      ],
      quiet,
    );
    if (typeof none === "number" || typeof some === "number") throw new Error("usage error");
    expect(none.options.configuration).toEqual({});
    expect(none.options.model).toBeUndefined();
    expect(some.options.configuration).toEqual({
      preset: "qa",
      synthesisOutput: "answer",
      maxRetries: 0,
      requestTimeoutMs: 2500,
      failFast: true,
      maxSections: 3,
    });
    // Under what the flags set, the qa preset's settings still apply.
    expect(resolveConfiguration({ configurable: some.options.configuration })).toMatchObject({
      synthesis: "llm",
      synthesisOutput: "answer",
      maxSections: 3,
    });
    expect(resolveConfiguration({ configurable: none.options.configuration }).synthesis).toBe(
      "join",
    );
  });

  test.each([
    [["--max-retries", "11"], "give a whole number from 0 to 10, in digits like 3."],
    [["--max-plan-attempts", "0"], "give a whole number from 1 to 10, in digits like 3."],
    [
      ["--aggregator-token-budget", "99"],
      "give a whole number of 100 or more, in digits like 12000.",
    ],
    [["--max-output-tokens", "0x10"], "give a whole number of 1 or more, in digits like 8000."],
    [
      ["--request-timeout", "86401"],
      "give a number of seconds from 1 to 86400, in digits like 120.",
    ],
    [["--synthesis-output", "all"], "Allowed choices are sections, answer."],
  ])("%j is refused with the field's bounds: %s", (args, message) => {
    let printed = "";
    const code = parseArguments(["Tides", ...args], {
      stdout: () => undefined,
      stderr: (text) => (printed += text),
    });
    expect(code).toBe(2);
    expect(printed).toContain(message);
  });
});
