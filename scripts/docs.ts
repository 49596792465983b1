/**
 * Writes the generated documentation: docs/configuration.md, every field of `ConfigurationSchema`
 * rendered from its JSON Schema (the one Studio draws its form from), and the block of docs/cli.md
 * between the `generated:cli-help` markers, the CLI's `--help`. With `--check`, writes nothing and
 * fails naming every file that differs from what it would write (`npm run check` runs this).
 */
import { readFile, writeFile } from "node:fs/promises";
import { pathToFileURL } from "node:url";
import { format, resolveConfig } from "prettier";
import type { z } from "zod";
import {
  fieldSchemas,
  flagsSetting,
  FIELD_FLAGS,
  parseArguments,
  type FieldFlag,
} from "../src/cli/options.js";
import { ConfigurationSchema, type Configuration } from "../src/schemas/configuration.js";
import { PRESET_NAMES, PRESETS } from "../src/schemas/presets.js";

/** The generated configuration page. */
export const CONFIGURATION_PAGE = "docs/configuration.md";
/** The page whose `--help` block is generated; the rest of it is written by hand. */
export const CLI_PAGE = "docs/cli.md";
/** The markers around the generated `--help` block of the CLI page. */
export const CLI_HELP_START = "<!-- generated:cli-help -->";
export const CLI_HELP_END = "<!-- /generated:cli-help -->";
/** The command that brings every generated page up to date. */
export const DOCS_COMMAND = "npm run docs";
/** The width `--help` is wrapped at on the CLI page (the repository's print width). */
const HELP_WIDTH = 100;

/** The parts of a JSON Schema the configuration page reads. */
interface JsonSchema {
  type?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  minItems?: number;
  format?: string;
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: JsonSchema | boolean;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
}

/** `text` as Markdown that shows it as written: no HTML tags, emphasis or table breaks. */
function escaped(text: string): string {
  return text.replace(/([\\`*_<>[\]|])/g, "\\$1");
}

/** `text` as inline code, with a fence longer than any run of backticks in it. */
function code(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = "`".repeat(longest + 1);
  return longest ? `${fence} ${text} ${fence}` : `${fence}${text}${fence}`;
}

/** A field's bounds in words, or undefined when it has none. */
function bounds(schema: JsonSchema): string | undefined {
  const maximum =
    schema.maximum === undefined || schema.maximum >= Number.MAX_SAFE_INTEGER
      ? undefined
      : schema.maximum;
  if (schema.minimum !== undefined && maximum !== undefined)
    return `${schema.minimum} to ${maximum}`;
  if (schema.minimum !== undefined) return `${schema.minimum} or more`;
  return maximum === undefined ? undefined : `${maximum} or less`;
}

/** What kind of value a schema takes, in words. */
function typeOf(schema: JsonSchema): string {
  const variants = schema.anyOf ?? schema.oneOf;
  if (variants) return [...new Set(variants.map(typeOf))].join(" or ");
  if (schema.const !== undefined) return code(JSON.stringify(schema.const));
  switch (schema.type) {
    case "integer":
      return "whole number";
    case "number":
      return "number";
    case "boolean":
      return "boolean";
    case "string":
      return schema.format === "uri" ? "URL" : schema.minLength ? "text, not empty" : "text";
    case "array":
      return `list of ${schema.items ? typeOf(schema.items) : "values"}${schema.minItems ? `, at least ${schema.minItems}` : ""}`;
    case "object":
      if (schema.properties) return "object";
      if (typeof schema.additionalProperties === "object")
        return `map from name to ${typeOf(schema.additionalProperties)}`;
      return "object";
    default:
      return "any value";
  }
}

/** A default value as it reads inline, or undefined when it is too long for a line. */
function inlineValue(value: unknown): string | undefined {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length <= 80 && !text.includes("\n") ? code(text) : undefined;
}

/** A long value in a fenced block, folded away under `summary`. */
function foldedValue(summary: string, value: unknown): string {
  const text = typeof value === "string" ? value : JSON.stringify(value, null, 2);
  const longest = Math.max(2, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = "`".repeat(longest + 1);
  const language = typeof value === "string" ? "text" : "json";
  return `<details>\n<summary>${summary}</summary>\n\n${fence}${language}\n${text}\n${fence}\n\n</details>`;
}

/** The fields of an object schema, or of the objects it lists or maps to: one line each. */
function subfields(schema: JsonSchema): string[] {
  const inner =
    schema.items ??
    (typeof schema.additionalProperties === "object" ? schema.additionalProperties : schema);
  const objects = (inner.anyOf ?? inner.oneOf ?? [inner]).filter((object) => object.properties);
  const variants = objects.length > 1;
  return objects.flatMap((object, index) => [
    ...(variants ? [`- ${index === 0 ? "Either" : "Or"}:`] : []),
    ...Object.entries(object.properties!).map(([name, property]) => {
      const facts = [
        typeOf(property),
        ...(property.enum
          ? [`one of ${property.enum.map((value) => code(String(value))).join(", ")}`]
          : []),
        ...(bounds(property) ? [bounds(property)!] : []),
        property.default !== undefined
          ? `default ${inlineValue(property.default) ?? "below"}`
          : object.required?.includes(name)
            ? "required"
            : "optional",
      ];
      const description = property.description ? `: ${escaped(property.description)}` : "";
      return `${variants ? "  " : ""}- ${code(name)} (${facts.join(", ")})${description}`;
    }),
  ]);
}

/** The section of one field: its description, then what it takes, its default and its flag. */
function fieldSection(name: string, schema: JsonSchema): string {
  const facts = [`- Type: ${typeOf(schema)}`];
  if (schema.enum)
    facts.push(`- Allowed values: ${schema.enum.map((v) => code(String(v))).join(", ")}`);
  else if (bounds(schema)) facts.push(`- Allowed values: ${bounds(schema)}`);
  const inline = schema.default === undefined ? "unset" : inlineValue(schema.default);
  facts.push(`- Default: ${inline ?? "shown below"}`);
  const flags = flagsSetting(name as keyof Configuration);
  const flag = (FIELD_FLAGS as Partial<Record<string, FieldFlag>>)[name];
  const unit = flag && "unit" in flag && flag.unit ? ` (in ${flag.unit.name})` : "";
  facts.push(
    `- CLI: ${
      flags.length
        ? `${flags.map(code).join(", ")}${unit}`
        : `none; ${escaped(flag && "none" in flag ? flag.none : "not settable from the command line")}`
    }`,
  );
  const fields = subfields(schema);
  return [
    `### ${name}`,
    escaped(schema.description ?? "(No description.)"),
    facts.join("\n"),
    ...(fields.length ? [`Its fields:\n\n${fields.join("\n")}`] : []),
    ...(schema.default !== undefined && !inline ? [foldedValue("Default", schema.default)] : []),
  ].join("\n\n");
}

/** What each preset sets, from `PRESETS`. */
function presetTable(): string {
  const rows = PRESET_NAMES.map((name) => {
    const settings = Object.entries(PRESETS[name]).map(([field, value]) =>
      typeof value === "string" && value.length > 40
        ? `[${field}](#${field.toLowerCase()}) (its own)`
        : `[${field}](#${field.toLowerCase()}) ${inlineValue(value) ?? "(its own)"}`,
    );
    return `| ${code(name)} | ${settings.length ? settings.join(", ") : "nothing: the defaults"} |`;
  });
  return ["| Preset | Sets |", "| --- | --- |", ...rows].join("\n");
}

/**
 * The configuration page for `schema` (by default `ConfigurationSchema`): how to set a field,
 * a summary table, the presets, then a section per field. Formatted as `npm run format` would.
 */
export async function configurationPage(
  schema: z.ZodObject = ConfigurationSchema,
): Promise<string> {
  const fields = Object.entries(fieldSchemas(schema) as Record<string, JsonSchema>);
  const summary = fields.map(([name, field]) => {
    const flags = flagsSetting(name as keyof Configuration);
    const value = field.default === undefined ? "unset" : (inlineValue(field.default) ?? "below");
    return `| [${name}](#${name.toLowerCase()}) | ${value.replace(/\|/g, "\\|")} | ${flags.length ? code(flags[0]!) : "none"} |`;
  });
  const page = `# Configuration

<!-- Generated by \`${DOCS_COMMAND}\` from src/schemas/configuration.ts: change a field's description or default there, not here. -->

You want to change how a run plans, writes or checks its report: how many sections, which
models, how citations are checked, what a run may spend. Every run reads one configuration, the
${fields.length} fields below, each with a default. Set a field in whichever way you run the graph:

- **The CLI**: the flag named in the field's CLI line, e.g.
  \`orchestrator-workers "How tides work" --max-sections 5\` (see [the command line](cli.md)).
- **Code**: \`graph.invoke({ topic }, { configurable: { maxSections: 5 } })\`; \`context\` works too,
  and wins over \`configurable\`.
- **LangGraph Studio and the Agent Server**: the assistant's configuration form shows these
  fields, with these descriptions and defaults.

No field is read from an environment variable: the environment gives the model servers, their
keys and the run database (see [the command line](cli.md) and
[models and local servers](models-and-local-servers.md)). A value that breaks a field's rule is
refused with an error that names the field.

## Presets

A preset is a set of defaults: the fields it sets apply unless the run sets them itself.

${presetTable()}

## Every field

| Field | Default | CLI |
| --- | --- | --- |
${summary.join("\n")}

${fields.map(([name, field]) => fieldSection(name, field)).join("\n\n")}
`;
  return format(page, {
    ...(await resolveConfig(CONFIGURATION_PAGE)),
    filepath: CONFIGURATION_PAGE,
  });
}

/** What `orchestrator-workers --help` prints, wrapped at the page's width. */
export function cliHelp(): string {
  let printed = "";
  const write = (text: string) => (printed += text);
  parseArguments(["--help"], { stdout: write, stderr: write, helpWidth: HELP_WIDTH });
  return printed;
}

/** The CLI page's generated block, markers included, for `help`. */
export function cliHelpBlock(help: string = cliHelp()): string {
  return `${CLI_HELP_START}\n\n\`\`\`text\n${help.trimEnd()}\n\`\`\`\n\n${CLI_HELP_END}`;
}

/** The block between the markers in `page` (markers included), or undefined when they are missing. */
function currentBlock(page: string): string | undefined {
  const start = page.indexOf(CLI_HELP_START);
  const end = page.indexOf(CLI_HELP_END, start);
  if (start < 0 || end < 0) return undefined;
  return page.slice(start, end + CLI_HELP_END.length);
}

/**
 * The CLI page with `block` between its markers and every other character as it was; a page with
 * no markers gets the block at its end, and a missing page is a title and the block.
 */
export function withCliHelp(page: string | undefined, block: string): string {
  if (page === undefined) return `# The command line\n\n${block}\n`;
  const current = currentBlock(page);
  if (current === undefined) return `${page.trimEnd()}\n\n${block}\n`;
  return page.replace(current, () => block);
}

/** Reads a file of the repository, or undefined when there is none. */
export type ReadPage = (path: string) => Promise<string | undefined>;

const readPage: ReadPage = (path) =>
  readFile(path, "utf8").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw error;
  });

/** Every generated page, as this script writes it: path to content. */
export async function generatedPages(
  options: { schema?: z.ZodObject; read?: ReadPage } = {},
): Promise<Map<string, string>> {
  const read = options.read ?? readPage;
  return new Map([
    [CONFIGURATION_PAGE, await configurationPage(options.schema)],
    [CLI_PAGE, withCliHelp(await read(CLI_PAGE), cliHelpBlock())],
  ]);
}

/**
 * One message per generated page that differs from what this script writes (or is missing),
 * naming the page and the command that brings it up to date. None when every page is current.
 */
export async function stalePages(
  options: { schema?: z.ZodObject; read?: ReadPage } = {},
): Promise<string[]> {
  const read = options.read ?? readPage;
  const messages: string[] = [];
  for (const [path, expected] of await generatedPages({ ...options, read })) {
    const current = await read(path);
    if (current === undefined) messages.push(`${path} is missing: run \`${DOCS_COMMAND}\`.`);
    else if (path === CLI_PAGE && currentBlock(current) === undefined)
      messages.push(
        `${path} has no ${CLI_HELP_START} ... ${CLI_HELP_END} block: run \`${DOCS_COMMAND}\`.`,
      );
    else if (current !== expected)
      messages.push(`${path} is out of date: run \`${DOCS_COMMAND}\`.`);
  }
  return messages;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  if (process.argv.includes("--check")) {
    const messages = await stalePages();
    for (const message of messages) console.error(message);
    if (messages.length) process.exitCode = 1;
    else console.log(`${CONFIGURATION_PAGE} and the --help block of ${CLI_PAGE} are up to date`);
  } else {
    for (const [path, content] of await generatedPages()) {
      if ((await readPage(path)) === content) continue;
      await writeFile(path, content);
      console.log(`${path} written`);
    }
  }
}
