import { constants, readFileSync } from "node:fs";
import { access, lstat, readFile, stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import type { StructuredToolInterface } from "@langchain/core/tools";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import type { Environment } from "../env.js";
import { checkModelNames } from "../models/chat-models.js";
import { InvalidInputError } from "../errors.js";
import {
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

/** The options as commander parses them. */
export interface CliOptions {
  out: string;
  /**
   * Not an option: set by `parseArguments` when `--out` was not given. The default `report.md`
   * may then replace a report this CLI wrote there that nobody edited (a re-run of the quick
   * start); a path the user gave is never replaced without `--force`.
   */
  defaultOut?: boolean;
  force?: boolean;
  maxSections?: number;
  model?: string;
  plannerModel?: string;
  writerModel?: string;
  aggregatorModel?: string;
  verifierModel?: string;
  verifyCitations?: "off" | "keys" | "llm";
  /** `--review-sections` alone is `true` (the default number of revisions), or the number given. */
  reviewSections?: true | number;
  reviewerModel?: string;
  structuredOutput?: "auto" | "jsonSchema" | "toolCalling" | "jsonMode" | "prompt";
  maxOutputTokens?: number;
  requestTimeout?: number;
  temperature?: number;
  plan?: string;
  thread?: string;
  db: string;
  maxConcurrency?: number;
  maxWorkerSteps?: number;
  maxTotalTokens?: number;
  synthesis?: "join" | "llm";
  preset?: "report" | "qa" | "itinerary";
  maxPlanningRounds?: number;
  sources?: string;
  wikipedia?: boolean;
  wikipediaUrl?: string;
  roles?: string;
  mcp?: string;
  review?: boolean;
  offline?: boolean;
  quiet?: boolean;
}

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
 * Parses the command line. Returns the topic words and options, or the exit code when commander
 * already answered (help, or a usage error it printed).
 */
export function parseArguments(
  argv: string[],
  output: { stdout: (text: string) => void; stderr: (text: string) => void },
): { topic: string[]; options: CliOptions } | number {
  const program = new Command()
    .name("orchestrator-workers")
    .description(
      "Plan a report on a topic, write its sections in parallel, and assemble them in plan order.",
    )
    .argument("[topic...]", "what the report is about (quote it, or give it as several words)")
    .option(
      "-o, --out <path>",
      "file to write the Markdown report to; - for standard output. A re-run replaces the default report.md unless it was edited; a path you give, only with --force",
      "report.md",
    )
    .option("-f, --force", "overwrite the --out file if it already exists")
    .option(
      "-n, --max-sections <n>",
      "most sections the planner may plan (default 8)",
      positiveInteger,
    )
    .option(
      "-m, --model <name>",
      "chat model for the planner, the writers and the aggregator (default gpt-4.1-mini); provider:model for another provider (anthropic:..., ollama:...)",
    )
    .option("--planner-model <name>", "chat model for the planner only")
    .option("--writer-model <name>", "chat model for the writers only")
    .option("--aggregator-model <name>", "chat model for the aggregator only (--synthesis llm)")
    .addOption(
      new Option(
        "--verify-citations <mode>",
        "off: citations as written; keys (default): citations of sources no tool returned are removed, with a warning; llm: also a verifier model checks each cited sentence against its source",
      ).choices(["off", "keys", "llm"]),
    )
    .option(
      "--verifier-model <name>",
      "chat model of the citation verifier (--verify-citations llm; default: the writers')",
    )
    .option(
      "--review-sections [n]",
      "have a reviewer model grade each section and send a failing one back to its writer with the feedback, at most N times (0 to 10, default 2)",
      revisionCount,
    )
    .option(
      "--reviewer-model <name>",
      "chat model of the section reviewer (--review-sections; default: the writers')",
    )
    .addOption(
      new Option(
        "--structured-output <method>",
        "how plans are asked for: auto (JSON schema, falling back when a server rejects or ignores it), jsonSchema, toolCalling, jsonMode or prompt",
      ).choices(["auto", "jsonSchema", "toolCalling", "jsonMode", "prompt"]),
    )
    .option(
      "--max-output-tokens <n>",
      "most tokens a model may write in one answer (raise it when answers are cut off)",
      positiveInteger,
    )
    .option(
      "--request-timeout <seconds>",
      "time limit of one model request, response body included (default 120)",
      seconds,
    )
    .option("-t, --temperature <t>", "sampling temperature, 0 to 2 (default 0.2)", temperature)
    .option(
      "--plan <file>",
      "ready-made plan: a JSON array of { name, description } (skips planning)",
    )
    .option(
      "--thread <id>",
      "name the run; running again with the same id resumes it, writing only missing sections (the topic may then be left out)",
    )
    .option(
      "--db <file>",
      "SQLite file that stores runs (not used when POSTGRES_URL is set)",
      DEFAULT_CHECKPOINT_FILE,
    )
    .option(
      "-c, --max-concurrency <n>",
      "most sections written and model requests in flight at once (default 10)",
      positiveInteger,
    )
    .option(
      "-s, --sources <dir>",
      "let workers search the Markdown and text files in DIR, and cite them",
    )
    .option("--wikipedia", "let workers search Wikipedia, and cite the articles")
    .option(
      "--wikipedia-url <url>",
      "MediaWiki site for --wikipedia (default https://en.wikipedia.org)",
    )
    .option(
      "--roles <file>",
      'roster of specialist roles: a JSON array of { "name": "...", "background": "..." }, each with the "tools" its writers may call if not all',
    )
    .option(
      "--mcp <file>",
      'let workers call the tools of the MCP servers in FILE: { "mcpServers": { "<name>": { "command", "args", "env" } or { "url", "headers" } } }, as MCP clients use; tools are named <name>__<tool>',
    )
    .option(
      "--max-worker-steps <n>",
      "most model calls per section for a worker with tools (default 3)",
      positiveInteger,
    )
    .option(
      "--max-total-tokens <n>",
      "token budget: start no new section once the run has used this many tokens",
      positiveInteger,
    )
    .addOption(
      new Option(
        "-p, --preset <name>",
        "report (default); qa: one answer per question, as an answer sheet; itinerary: a day-by-day travel plan",
      ).choices(["report", "qa", "itinerary"]),
    )
    .addOption(
      new Option(
        "--synthesis <mode>",
        "join: the sections under a title; llm: an aggregator model adds an introduction, transitions and a conclusion",
      ).choices(["join", "llm"]),
    )
    .option(
      "--max-planning-rounds <n>",
      "planning rounds: after each, the planner may add sections from what was found (default 1)",
      positiveInteger,
    )
    .option(
      "-r, --review",
      "show the plan and ask to approve, edit or send it back with feedback before writing",
    )
    .option("--offline", "use the offline placeholder model, even with a key set")
    .option("-q, --quiet", "print only the report's path")
    .version(packageVersion(), "-V, --version", "print the version")
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
    .configureOutput({ writeOut: output.stdout, writeErr: output.stderr });
  try {
    program.parse(argv, { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.code === "commander.helpDisplayed" || error.code === "commander.version" ? 0 : 2;
    }
    throw error;
  }
  const options = program.opts<CliOptions>();
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

function configurationFrom(options: CliOptions): ConfigurationInput {
  const configuration: ConfigurationInput = {};
  if (options.maxSections !== undefined) configuration.maxSections = options.maxSections;
  if (options.temperature !== undefined) configuration.temperature = options.temperature;
  if (options.maxConcurrency !== undefined) configuration.maxConcurrency = options.maxConcurrency;
  if (options.review) configuration.reviewPlan = true;
  if (options.maxWorkerSteps !== undefined) configuration.maxWorkerSteps = options.maxWorkerSteps;
  if (options.maxTotalTokens !== undefined) configuration.maxTotalTokens = options.maxTotalTokens;
  if (options.synthesis) configuration.synthesis = options.synthesis;
  if (options.preset) configuration.preset = options.preset;
  if (options.maxPlanningRounds !== undefined)
    configuration.maxPlanningRounds = options.maxPlanningRounds;
  if (options.structuredOutput) configuration.structuredOutput = options.structuredOutput;
  if (options.verifyCitations) configuration.verifyCitations = options.verifyCitations;
  if (options.reviewSections !== undefined) {
    configuration.sectionReview = {
      enabled: true,
      ...(options.reviewSections === true ? {} : { maxRevisions: options.reviewSections }),
    };
  }
  if (options.maxOutputTokens !== undefined)
    configuration.maxOutputTokens = options.maxOutputTokens;
  if (options.requestTimeout !== undefined)
    configuration.requestTimeoutMs = Math.round(options.requestTimeout * 1000);
  const planner = options.plannerModel ?? options.model;
  const writer = options.writerModel ?? options.model;
  const aggregator = options.aggregatorModel ?? options.model;
  if (planner) configuration.plannerModel = planner;
  if (writer) configuration.writerModel = writer;
  if (aggregator) configuration.aggregatorModel = aggregator;
  const verifier = options.verifierModel ?? options.model;
  if (verifier) configuration.verifierModel = verifier;
  const reviewer = options.reviewerModel ?? options.model;
  if (reviewer) configuration.reviewerModel = reviewer;
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

/**
 * A count: plain decimal digits only ("8", "08"), at least 1. `Number` would also read "0x10" as 16,
 * "1e3" as 1000 and "0b11" as 3, which a person typing a count rarely means: those are refused.
 */
function positiveInteger(value: string): number {
  const trimmed = value.trim();
  const number = /^\d+$/.test(trimmed) ? Number(trimmed) : NaN;
  if (!Number.isSafeInteger(number) || number < 1) {
    throw new InvalidArgumentError("give a whole number of 1 or more, in digits like 8.");
  }
  return number;
}

/** Revisions of a reviewed section: plain digits, 0 (review only) to 10. */
function revisionCount(value: string): number {
  const trimmed = value.trim();
  const number = /^\d+$/.test(trimmed) ? Number(trimmed) : NaN;
  if (!Number.isSafeInteger(number) || number > 10) {
    throw new InvalidArgumentError(
      "give a number of revisions from 0 to 10, in digits like 2 (a topic after --review-sections is read as N: put the topic first).",
    );
  }
  return number;
}

/** A decimal number in plain digits ("0.5", "2", ".5"), or NaN. */
function decimal(value: string): number {
  const trimmed = value.trim();
  return /^(\d+(\.\d*)?|\.\d+)$/.test(trimmed) ? Number(trimmed) : NaN;
}

function temperature(value: string): number {
  const number = decimal(value);
  if (!Number.isFinite(number) || number < 0 || number > 2) {
    throw new InvalidArgumentError("give a number from 0 to 2, in digits like 0.2.");
  }
  return number;
}

/** Seconds, decimals allowed, at least 1 (the configuration's `requestTimeoutMs` is at least 1000). */
function seconds(value: string): number {
  const number = decimal(value);
  if (!Number.isFinite(number) || number < 1 || number > 86_400) {
    throw new InvalidArgumentError("give a number of seconds from 1 to 86400, in digits like 120.");
  }
  return number;
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
