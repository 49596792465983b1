import { constants, readFileSync } from "node:fs";
import { access, lstat, readFile, stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import type { StructuredToolInterface } from "@langchain/core/tools";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { z } from "zod";
import type { Environment } from "../env.js";
import { checkModelNames } from "../models/chat-models.js";
import { InvalidInputError } from "../errors.js";
import {
  ConfigurationSchema,
  resolveConfiguration,
  type Configuration,
  type ConfigurationInput,
} from "../schemas/configuration.js";
import { printable, validateInput, type ValidatedInput } from "../schemas/input.js";
import type { InputSection } from "../schemas/section.js";
import {
  openMcpServers,
  readMcpServersFile,
  type McpServerConnections,
  type McpServers,
} from "../tools/mcp.js";
import { createSourcesTool } from "../tools/sources.js";
import { createWikipediaTool } from "../tools/wikipedia.js";
import {
  checkWritable,
  isWritableDirectory,
  notRegularFile,
  resolveOutPath,
  type ForbiddenPath,
} from "./report-file.js";
import { DEFAULT_CHECKPOINT_FILE } from "./run-store.js";

/** The `--out` value that sends the report to standard output. */
export const STDOUT = "-";

/** Everything a run needs, checked before any model is created or called. */
export interface RunRequest {
  input: ValidatedInput;
  /** The configuration the options set, as given to the graph (`configurable`). */
  configurable: ConfigurationInput;
  configuration: Configuration;
  /** Absolute path of the report file, or `STDOUT` ("-"). */
  out: string;
  /** Every tool of the run: the built-in ones the options ask for, and the MCP servers' tools. */
  tools: StructuredToolInterface[];
  /** The `--mcp` servers, read from the file (their `env` and `headers` values are secrets). */
  mcpServers?: McpServers;
  /** The `--mcp` servers, started: close them when the run ends, however it ends. */
  mcp?: McpServerConnections;
  options: CliOptions;
}

/**
 * The options as commander parses them: the flags written here by hand, and the configuration
 * fields the generated flags set.
 */
export interface CliOptions {
  out: string;
  /**
   * Not an option: set by `parseArguments` when `--out` was not given. The default `report.md`
   * may then replace a report this CLI wrote there that nobody edited (a re-run of the quick
   * start); a path the user gave is never replaced without `--force`.
   */
  defaultOut?: boolean;
  force?: boolean;
  /** `--model`: every role's chat model; a role's own flag (`--writer-model`...) wins. */
  model?: string;
  /** `--review-sections` alone is `true` (the default number of revisions), or the number given. */
  reviewSections?: true | number;
  plan?: string;
  thread?: string;
  db: string;
  sources?: string;
  wikipedia?: boolean;
  wikipediaUrl?: string;
  roles?: string;
  mcp?: string;
  review?: boolean;
  offline?: boolean;
  quiet?: boolean;
  /**
   * The configuration fields set by their own flags (`FIELD_FLAGS`), only those given: a value
   * not given is left to the preset and then the field's default, so a preset's settings stand.
   */
  configuration: ConfigurationInput;
}

/**
 * How the command line sets a configuration field. The type lists every field, so a field added
 * to `ConfigurationSchema` does not compile until it is given a flag or a reason for none.
 */
export type FieldFlag =
  /**
   * A flag of its own, generated from the field's JSON Schema: the description, default, choices
   * and bounds. `unit` is for a flag in another unit than the field (seconds for milliseconds).
   */
  | { flags: string; unit?: { name: string; factor: number } }
  /** Set by a flag written by hand here, because it does more (reads a file, asks in the terminal). */
  | { setBy: string }
  /** No flag, and why. */
  | { none: string };

const PROMPT = "a prompt is long text: set it in code, in Studio, or through --preset";

/** How the command line sets every configuration field, in the order `--help` lists them. */
export const FIELD_FLAGS: { readonly [Field in keyof Configuration]-?: FieldFlag } = {
  preset: { flags: "-p, --preset <name>" },
  maxSections: { flags: "-n, --max-sections <n>" },
  plannerModel: { flags: "--planner-model <name>" },
  writerModel: { flags: "--writer-model <name>" },
  aggregatorModel: { flags: "--aggregator-model <name>" },
  verifierModel: { flags: "--verifier-model <name>" },
  reviewerModel: { flags: "--reviewer-model <name>" },
  temperature: { flags: "-t, --temperature <t>" },
  maxOutputTokens: { flags: "--max-output-tokens <n>" },
  requestTimeoutMs: {
    flags: "--request-timeout <seconds>",
    unit: { name: "seconds", factor: 1000 },
  },
  maxRetries: { flags: "--max-retries <n>" },
  maxConcurrency: { flags: "-c, --max-concurrency <n>" },
  structuredOutput: { flags: "--structured-output <method>" },
  maxPlanAttempts: { flags: "--max-plan-attempts <n>" },
  maxPlanningRounds: { flags: "--max-planning-rounds <n>" },
  reviewPlan: { setBy: "-r, --review" },
  maxPlanRevisions: { flags: "--max-plan-revisions <n>" },
  planReviewFormat: {
    none: "the CLI's --review asks in the terminal, reading the plan_review form itself",
  },
  roles: { setBy: "--roles <file>" },
  maxWorkerSteps: { flags: "--max-worker-steps <n>" },
  mcpServers: { setBy: "--mcp <file>" },
  verifyCitations: { flags: "--verify-citations <mode>" },
  sectionReview: { setBy: "--review-sections [n]" },
  synthesis: { flags: "--synthesis <mode>" },
  synthesisOutput: { flags: "--synthesis-output <kind>" },
  aggregatorTokenBudget: { flags: "--aggregator-token-budget <n>" },
  maxTotalTokens: { flags: "--max-total-tokens <n>" },
  failFast: { flags: "--fail-fast" },
  plannerPrompt: { none: PROMPT },
  writerPrompt: { none: PROMPT },
  aggregatorPrompt: { none: PROMPT },
  reviewerPrompt: { none: PROMPT },
  verifierPrompt: { none: PROMPT },
  prices: {
    none: "a table of model prices: set it in code or in Studio",
  },
};

/** The fields `--model` sets (each under its own flag). */
export const MODEL_FIELDS = [
  "plannerModel",
  "writerModel",
  "aggregatorModel",
  "verifierModel",
  "reviewerModel",
] as const satisfies readonly (keyof Configuration)[];

/** The `--model` flag: every role's chat model at once. */
export const MODEL_FLAG = "-m, --model <name>";

/** Every flag that sets `field`: its own or the hand-written one, and `--model` for a model. */
export function flagsSetting(field: keyof Configuration): string[] {
  // A field of another schema (a test's, or one newer than this table) has no flag.
  const flag = FIELD_FLAGS[field] as FieldFlag | undefined;
  const own = !flag ? [] : "flags" in flag ? [flag.flags] : "setBy" in flag ? [flag.setBy] : [];
  return (MODEL_FIELDS as readonly string[]).includes(field) ? [...own, MODEL_FLAG] : own;
}

/** A configuration field's JSON Schema: what Studio draws its form from, and this CLI its flags. */
interface FieldSchema {
  type?: string;
  description?: string;
  default?: unknown;
  enum?: string[];
  minimum?: number;
  maximum?: number;
  examples?: unknown[];
  properties?: Record<string, FieldSchema>;
}

/** Each configuration field's JSON Schema, by field name. */
export function fieldSchemas(
  schema: z.ZodObject = ConfigurationSchema,
): Record<string, FieldSchema> {
  return (z.toJSONSchema(schema, { io: "input" }) as { properties: Record<string, FieldSchema> })
    .properties;
}

/** The flag of a field with `{ flags }`: description, default, choices and checks from its schema. */
function fieldOption(
  flag: { flags: string; unit?: { name: string; factor: number } },
  schema: FieldSchema,
): Option {
  // The field's description says its own unit; a flag in another one says so after it.
  const unit = flag.unit ? ` This flag takes ${flag.unit.name}, decimals allowed.` : "";
  const option = new Option(flag.flags, `${schema.description ?? ""}${unit}`);
  if (schema.enum) option.choices(schema.enum);
  else if (schema.type === "integer" || schema.type === "number")
    option.argParser(numberParser(schema, flag.unit));
  // A boolean flag's default is its absence: commander would print "(default: false)".
  if (schema.default !== undefined && schema.type !== "boolean") {
    option.default(flag.unit ? (schema.default as number) / flag.unit.factor : schema.default);
  }
  return option;
}

/** "Most times" as "most times", to follow a colon. */
function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

/** The description of a hand-written flag that sets a field: the field's, then what it adds. */
function describedBy(schema: FieldSchema | undefined, addition: string): string {
  return schema?.description ? `${schema.description} ${addition}` : addition;
}

/**
 * Parses the command line. Returns the topic words and options, or the exit code when commander
 * already answered (help, or a usage error it printed). `helpWidth` fixes the width `--help`
 * wraps at (the terminal's, or 80 when it is not a terminal), for a page that shows it.
 */
export function parseArguments(
  argv: string[],
  output: {
    stdout: (text: string) => void;
    stderr: (text: string) => void;
    helpWidth?: number;
  },
): { topic: string[]; options: CliOptions } | number {
  const schemas = fieldSchemas();
  const { helpWidth } = output;
  const revisions = schemas.sectionReview?.properties?.maxRevisions ?? {};
  const program = new Command()
    .name("orchestrator-workers")
    .description(
      "Plan a report on a topic, write its sections in parallel, and assemble them in plan order.",
    )
    .argument("[topic...]", "What the report is about (quote it, or give it as several words).")
    .option(
      "-o, --out <path>",
      "File to write the Markdown report to; - for standard output. A re-run replaces the default report.md unless it was edited; a path you give, only with --force.",
      "report.md",
    )
    .option("-f, --force", "Overwrite the --out file if it already exists.")
    .option(
      "--plan <file>",
      "Ready-made plan: a JSON array of { name, description } (skips planning).",
    )
    .option(
      "--thread <id>",
      "Name the run; running again with the same id resumes it, writing only missing sections (the topic may then be left out).",
    )
    .option(
      "--db <file>",
      "SQLite file that stores runs (not used when POSTGRES_URL is set).",
      DEFAULT_CHECKPOINT_FILE,
    )
    .option(
      "-s, --sources <dir>",
      "Let workers search the Markdown and text files in DIR, and cite them.",
    )
    .option("--wikipedia", "Let workers search Wikipedia, and cite the articles.")
    .option(
      "--wikipedia-url <url>",
      "MediaWiki site for --wikipedia (default https://en.wikipedia.org).",
    )
    .option(
      "--mcp <file>",
      describedBy(
        schemas.mcpServers,
        'Read from FILE, as MCP clients write it: { "mcpServers": { ... } }.',
      ),
    )
    .option(
      "--roles <file>",
      describedBy(
        schemas.roles,
        'Read from FILE: a JSON array of { "name": "...", "background": "..." }, each with the "tools" its writers may call if not all.',
      ),
    )
    .option(
      "-r, --review",
      describedBy(schemas.reviewPlan, "The CLI shows the plan and asks in the terminal."),
    )
    .option(
      "--review-sections [n]",
      describedBy(
        schemas.sectionReview,
        `N, from ${bounds(revisions)} (default ${String(revisions.default)}): ${lowerFirst(revisions.description ?? "most revisions of a section.")}`,
      ),
      revisionCount(revisions),
    )
    .addOption(
      new Option(
        MODEL_FLAG,
        "Chat model of every role (planner, writers, aggregator, verifier, reviewer) not given a flag of its own: a name of the OpenAI-compatible server, or provider:model for another provider (anthropic:..., ollama:...).",
      ).default(schemas.plannerModel?.default),
    )
    .option("--offline", "Use the offline placeholder model, even with a key set.")
    .option("-q, --quiet", "Print only the report's path.")
    .version(packageVersion(), "-V, --version", "Print the version.")
    .helpOption("-h, --help", "Print this help.")
    .optionsGroup("Configuration (docs/configuration.md; a --preset changes some defaults):");
  const fieldOptions = new Map<string, { option: Option; unit?: { factor: number } }>();
  for (const [field, flag] of Object.entries<FieldFlag>(FIELD_FLAGS)) {
    if (!("flags" in flag)) continue;
    const option = fieldOption(flag, schemas[field] ?? {});
    program.addOption(option);
    fieldOptions.set(field, { option, unit: flag.unit });
  }
  program
    .addHelpText(
      "after",
      `
Environment:
  OPENAI_API_KEY    key for OpenAI or an OpenAI-compatible server
  OPENAI_BASE_URL   base URL of an OpenAI-compatible server (Ollama, vLLM, LM Studio...)
  POSTGRES_URL      store runs in PostgreSQL (also DATABASE_URL) instead of the --db SQLite file
  With neither set, the offline placeholder model writes a labelled placeholder report.

Numbers are written in plain decimal digits: 8, 0.5 (not 0x8, 8e0 or 0b1000).

Exit codes: 0 written, 1 the run failed or some sections failed (the report marks them),
2 bad usage or input (nothing sent, nothing written), 130 stopped by Ctrl-C (SIGINT) and 143 by
SIGTERM (the run stops sending first, closes its MCP servers and prints the command that resumes
it), 141 the reader of --out - left before the report arrived (as a program stopped by SIGPIPE).

Stored runs (with npm install @langchain/langgraph-checkpoint-sqlite, or POSTGRES_URL; without
either, a run is kept in memory: it works, but cannot be resumed or listed):
  orchestrator-workers runs                          list them (id, status, sections, cost, age, topic)
  orchestrator-workers runs prune --older-than 30d   delete old ones (--dry-run to see which)

Example:
  orchestrator-workers "How tides work" --out tides.md --max-sections 5
  npm run report -- "How tides work"   (in a clone of the repository)`,
    )
    .exitOverride()
    .configureOutput({
      writeOut: output.stdout,
      writeErr: output.stderr,
      ...(helpWidth === undefined ? {} : { getOutHelpWidth: () => helpWidth }),
    });
  try {
    program.parse(argv, { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.code === "commander.helpDisplayed" || error.code === "commander.version" ? 0 : 2;
    }
    throw error;
  }
  const given = (key: string) => program.getOptionValueSource(key) === "cli";
  const values = program.opts<Record<string, unknown>>();
  // Defaults are given to commander for --help to print them; only what the user typed is set,
  // so the preset's settings and the fields' defaults apply under it.
  const configuration: Record<string, unknown> = {};
  for (const [field, { option, unit }] of fieldOptions) {
    const key = option.attributeName();
    if (!given(key)) continue;
    const value = values[key];
    configuration[field] = unit ? Math.round((value as number) * unit.factor) : value;
  }
  const fieldKeys = new Set([...fieldOptions.values()].map(({ option }) => option.attributeName()));
  const options = {
    ...Object.fromEntries(Object.entries(values).filter(([key]) => !fieldKeys.has(key))),
    model: given("model") ? values.model : undefined,
    configuration,
  } as CliOptions;
  if (program.getOptionValueSource("out") === "default") options.defaultOut = true;
  return { topic: program.args, options };
}

/**
 * This package's version, read from its package.json when the CLI starts: two folders up from
 * this module both in the sources (`src/cli`, run by tsx) and in the build (`dist/cli`).
 */
export function packageVersion(): string {
  const manifest = JSON.parse(
    readFileSync(new URL("../../package.json", import.meta.url), "utf8"),
  ) as { version?: unknown };
  return typeof manifest.version === "string" ? manifest.version : "unknown";
}

/**
 * Turns the parsed options into a run request, checking everything a user can get wrong (the
 * topic, the plan and roles files, the configuration, the report path, the tools) before any
 * model is created or called. Throws `InvalidInputError` saying what to change.
 */
export async function prepareRun(
  topic: string[],
  options: CliOptions,
  environment: Environment,
): Promise<RunRequest> {
  const path = (file: string) => resolve(environment.workingDirectory, file);
  const sections = options.plan
    ? ((await readJsonArray(path(options.plan), {
        field: "plan",
        expected: 'a JSON array of { "name", "description" }',
        key: "sections",
      })) as InputSection[])
    : undefined;
  const input = validateInput({ topic: topic.join(" "), sections });
  const configurable = configurationFrom(options);
  if (options.roles) {
    configurable.roles = (await readJsonArray(path(options.roles), {
      field: "roles",
      expected: 'a JSON array of { "name": "...", "background": "..." }',
    })) as ConfigurationInput["roles"];
  }
  // Read and checked now; the servers start once every other check has passed.
  const mcpServers = options.mcp ? await readMcpServersFile(path(options.mcp)) : undefined;
  const configuration = resolveConfiguration({ configurable });
  // A provider package that is missing, or a client that cannot be made, is refused here.
  await checkModelNames(configuration, { environment, offline: options.offline });
  if (options.thread !== undefined) checkThreadId(options.thread);
  const database = environment.postgresUrl
    ? undefined
    : await checkDatabasePath(options.db, environment.workingDirectory);
  // `--out -` writes the report to standard output (progress stays on stderr).
  const out =
    options.out === STDOUT ? STDOUT : resolveOutPath(options.out, environment.workingDirectory);
  if (out !== STDOUT) {
    await checkWritable(out, {
      force: options.force ?? false,
      forbidden: database ? databaseFiles(database) : [],
      replaceUnchangedReport: options.defaultOut ?? false,
    });
  }
  if (options.wikipediaUrl && !/^https?:\/\/[^/]+/.test(options.wikipediaUrl)) {
    throw new InvalidInputError({
      field: "wikipedia-url",
      message: `--wikipedia-url ${options.wikipediaUrl} is not an http(s) URL: give the site's address, e.g. https://en.wikipedia.org.`,
    });
  }
  const builtIn = [
    ...(options.sources ? [await createSourcesTool({ directory: path(options.sources) })] : []),
    ...(options.wikipedia || options.wikipediaUrl
      ? [createWikipediaTool({ baseUrl: options.wikipediaUrl })]
      : []),
  ];
  // Last: a server that fails to start is refused (exit 2) before any model is called.
  const mcp = mcpServers
    ? await openMcpServers(mcpServers, {
        workingDirectory: environment.workingDirectory,
        origin: printable(path(options.mcp!)),
      })
    : undefined;
  const tools = [...builtIn, ...(mcp?.tools ?? [])];
  try {
    checkRoleTools(configuration, tools);
  } catch (error) {
    await mcp?.close();
    throw error;
  }
  return { input, configurable, configuration, out, tools, mcpServers, mcp, options };
}

/**
 * Every tool a role names must be one of the run's (built-in or from an MCP server): a misspelt
 * name would silently leave that role's writers without the tool.
 */
function checkRoleTools(configuration: Configuration, tools: StructuredToolInterface[]): void {
  const available = tools.map((tool) => tool.name);
  for (const role of configuration.roles) {
    const unknown = (role.tools ?? []).find((name) => !available.includes(name));
    if (unknown === undefined) continue;
    throw new InvalidInputError({
      field: "roles",
      message: `Role "${printable(role.name)}" names the tool "${printable(unknown)}", which this run does not have: ${
        available.length
          ? `its tools are ${available.join(", ")}`
          : "it has no tools (--sources, --wikipedia and --mcp give it some)"
      }.`,
    });
  }
}

/**
 * The configuration the options set: the fields' own flags, then what the hand-written flags
 * stand for (`--model` under each role's own flag, `--review`, `--review-sections`).
 */
function configurationFrom(options: CliOptions): ConfigurationInput {
  const configuration: ConfigurationInput = { ...options.configuration };
  if (options.review) configuration.reviewPlan = true;
  if (options.reviewSections !== undefined) {
    configuration.sectionReview = {
      enabled: true,
      ...(options.reviewSections === true ? {} : { maxRevisions: options.reviewSections }),
    };
  }
  if (options.model) {
    for (const field of MODEL_FIELDS) configuration[field] ??= options.model;
  }
  return configuration;
}

/** Reads a JSON array from a file given on the command line (or `{ [key]: [...] }`). */
async function readJsonArray(
  path: string,
  options: { field: string; expected: string; key?: string },
): Promise<unknown[]> {
  const flag = `--${options.field}`;
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    throw new InvalidInputError({
      field: options.field,
      message: `Cannot read the ${options.field} file ${path}: check the ${flag} path.`,
    });
  }
  let value: unknown;
  try {
    // A byte order mark is how some editors (Notepad, PowerShell's Out-File) start UTF-8 files.
    value = JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch {
    throw new InvalidInputError({
      field: options.field,
      message: `${path} is not valid JSON: give ${options.expected}.`,
    });
  }
  const list = Array.isArray(value)
    ? value
    : options.key
      ? (value as Record<string, unknown> | null)?.[options.key]
      : undefined;
  if (!Array.isArray(list)) {
    throw new InvalidInputError({
      field: options.field,
      message: `${path} holds no list: give ${options.expected}.`,
    });
  }
  return list as unknown[];
}

/** A field's bounds in words: "1 or more", "0 to 10". */
function bounds(schema: FieldSchema | undefined, factor = 1): string {
  const minimum = schema?.minimum === undefined ? undefined : schema.minimum / factor;
  const maximum =
    schema?.maximum === undefined || schema.maximum >= Number.MAX_SAFE_INTEGER
      ? undefined
      : schema.maximum / factor;
  if (minimum !== undefined && maximum !== undefined) return `${minimum} to ${maximum}`;
  if (minimum !== undefined) return `${minimum} or more`;
  return maximum !== undefined ? `${maximum} or less` : "any";
}

/**
 * The parser of a number field's flag, from its JSON Schema: plain decimal digits ("8", "08",
 * "0.5"), within the field's bounds, in the flag's unit. `Number` would also read "0x10" as 16,
 * "1e3" as 1000 and "0b11" as 3, which a person typing a number rarely means: those are refused.
 */
function numberParser(
  schema: FieldSchema,
  unit?: { name: string; factor: number },
): (value: string) => number {
  const factor = unit?.factor ?? 1;
  const whole = schema.type === "integer" && !unit;
  const range = bounds(schema, factor);
  const example = Number(schema.examples?.[0] ?? schema.default ?? schema.minimum ?? 1) / factor;
  const what = unit ? `a number of ${unit.name}` : whole ? "a whole number" : "a number";
  const message = `give ${what} ${range.includes(" to ") ? `from ${range}` : `of ${range}`}, in digits like ${example}.`;
  const minimum = (schema.minimum ?? -Infinity) / factor;
  const maximum = (schema.maximum ?? Infinity) / factor;
  return (value) => {
    const number = whole ? wholeNumber(value) : decimal(value);
    if (!Number.isFinite(number) || number < minimum || number > maximum) {
      throw new InvalidArgumentError(message);
    }
    return number;
  };
}

/** Revisions of a reviewed section (`--review-sections [n]`): a whole number within the field's bounds. */
function revisionCount(schema: FieldSchema): (value: string) => number {
  const minimum = schema.minimum ?? 0;
  const maximum = schema.maximum ?? Number.MAX_SAFE_INTEGER;
  return (value) => {
    const number = wholeNumber(value);
    if (!Number.isSafeInteger(number) || number < minimum || number > maximum) {
      throw new InvalidArgumentError(
        `give a number of revisions from ${bounds(schema)}, in digits like ${Number(schema.default ?? minimum)} (a topic after --review-sections is read as N: put the topic first).`,
      );
    }
    return number;
  };
}

/** A whole number in plain digits ("8", "08"), or NaN. */
function wholeNumber(value: string): number {
  const trimmed = value.trim();
  const number = /^\d+$/.test(trimmed) ? Number(trimmed) : NaN;
  return Number.isSafeInteger(number) ? number : NaN;
}

/** A decimal number in plain digits ("0.5", "2", ".5"), or NaN. */
function decimal(value: string): number {
  const trimmed = value.trim();
  return /^(\d+(\.\d*)?|\.\d+)$/.test(trimmed) ? Number(trimmed) : NaN;
}

/**
 * A `--thread` id must be something a person can read and type again: not empty or blank, and
 * without control or invisible characters (a terminal escape in an id would be printed raw in
 * every "run again with --thread" hint). The message shows such characters escaped.
 */
export function checkThreadId(thread: string): void {
  if (thread.trim() === "") {
    throw new InvalidInputError({
      field: "thread",
      message: "--thread is empty: give the run a name, e.g. --thread tides-1, or leave it out.",
    });
  }
  if (/[\p{Cc}\p{Cf}\u2028\u2029]/u.test(thread)) {
    throw new InvalidInputError({
      field: "thread",
      message: `--thread "${printable(thread)}" has control or invisible characters: use letters, digits, - or _.`,
    });
  }
}

/**
 * Checks the SQLite file of `--db` before anything is created: not empty; an existing path must be
 * a regular file (or a link to one) that can be read and written; its folder must be an existing,
 * writable directory (only the default folder, .orchestrator-workers, may be missing: it is made
 * in a writable working directory). Returns its absolute path.
 */
async function checkDatabasePath(given: string, workingDirectory: string): Promise<string> {
  if (given.trim() === "") {
    throw new InvalidInputError({
      field: "db",
      message: `--db is empty: give the path of the SQLite file that stores runs (default ${DEFAULT_CHECKPOINT_FILE}).`,
    });
  }
  const path = resolve(workingDirectory, given);
  const shown = printable(path);
  if (/[\\/]$/.test(given)) {
    throw new InvalidInputError({
      field: "db",
      message: `--db ${printable(given)} names a directory: give a file path, e.g. ${printable(given)}runs.sqlite.`,
    });
  }
  const existing = await stat(path).catch((error: NodeJS.ErrnoException) =>
    error.code === "ENOENT" ? undefined : error,
  );
  if (existing instanceof Error) {
    throw new InvalidInputError({
      field: "db",
      message: `Cannot use ${shown} as --db (${existing.code ?? existing.message}): give a SQLite file in a writable directory.`,
    });
  }
  if (existing) {
    const kind = notRegularFile(existing);
    if (kind) {
      throw new InvalidInputError({
        field: "db",
        message: `--db ${shown} is ${kind}: give the path of a SQLite file.`,
      });
    }
    try {
      await access(path, constants.R_OK | constants.W_OK);
    } catch {
      throw new InvalidInputError({
        field: "db",
        message: `--db ${shown} cannot be read and written: give a SQLite file you can write.`,
      });
    }
  }
  const isDefault = path === resolve(workingDirectory, DEFAULT_CHECKPOINT_FILE);
  let directory = dirname(path);
  if (isDefault && !(await lstat(directory).catch(() => undefined))) directory = dirname(directory);
  if (!(await isWritableDirectory(directory))) {
    throw new InvalidInputError({
      field: "db",
      message: `Cannot create the run database in ${printable(directory)}: give --db a file in an existing, writable directory.`,
    });
  }
  return path;
}

/** The run database and the files SQLite keeps beside it: never a place for the report. */
function databaseFiles(database: string): ForbiddenPath[] {
  return ["", "-wal", "-shm", "-journal"].map((suffix) => ({
    path: `${database}${suffix}`,
    what: suffix
      ? `a file of the run database (--db ${printable(database)})`
      : "the run database (--db)",
  }));
}
