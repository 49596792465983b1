#!/usr/bin/env node
/**
 * Command-line entry: `npm run report -- "<topic>" [options]`. The only module that reads argv.
 * Exit codes: 0 the report was written, 1 the run failed, 2 bad usage or input (nothing was sent
 * to a model and nothing was written).
 */
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createInterface } from "node:readline";
import { Command as GraphCommand } from "@langchain/langgraph";
import { askPlanReview } from "./cli-review.js";
import { createSourcesTool } from "./tools/sources.js";
import { usageFooter } from "./nodes/synthesizer.js";
import { createWikipediaTool } from "./tools/wikipedia.js";
import type { PlanReviewRequest } from "./schemas/review.js";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { awaitAllCallbacks } from "@langchain/core/callbacks/promises";
import { readEnvironment, type Environment } from "./env.js";
import { InvalidInputError, OrchestratorWorkersError } from "./errors.js";
import { resolveConfiguration } from "./graph/configuration.js";
import type { ProgressEvent } from "./graph/events.js";
import type { ReportOutputType } from "./graph/state.js";
import { DEFAULT_CHECKPOINT_FILE, observeSavedWrites, openCheckpointer } from "./persistence.js";
import { buildGraph } from "./graph/graph.js";
import { usesOfflineModel } from "./models/chat-models.js";
import { checkWritable, writeFileAtomically } from "./report-file.js";
import type { ConfigurationInput } from "./schemas/configuration.js";
import { validateInput } from "./schemas/input.js";
import type { InputSection } from "./schemas/section.js";

/** Where the CLI writes: injectable so tests can capture output. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Next line of standard input, or undefined at its end (plan review answers). */
  readLine: () => Promise<string | undefined>;
  /** Closes standard input's reader, if one was opened. */
  closeInput: () => void;
  /** Editor command for editing a plan, when the CLI runs in a terminal. */
  editor?: string;
}

interface CliOptions {
  out: string;
  force?: boolean;
  maxSections?: number;
  model?: string;
  plannerModel?: string;
  writerModel?: string;
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
  review?: boolean;
  offline?: boolean;
  quiet?: boolean;
}

let stdinLines: AsyncIterator<string> | undefined;
let stdinReader: ReturnType<typeof createInterface> | undefined;

const defaultIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  // Opened on first use only: a reader on stdin would keep a run without --review alive.
  readLine: async () => {
    stdinReader ??= createInterface({ input: process.stdin, terminal: false });
    stdinLines ??= stdinReader[Symbol.asyncIterator]();
    const next = await stdinLines.next();
    // Typed answers echo themselves; piped ones are echoed so the transcript reads right.
    if (!next.done && !process.stdin.isTTY) process.stderr.write(`${next.value}\n`);
    return next.done ? undefined : next.value;
  },
  closeInput: () => stdinReader?.close(),
  editor: process.stdin.isTTY ? readEnvironment().editor : undefined,
};

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function runCli(
  argv: string[],
  environment: Environment = readEnvironment(),
  io: CliIo = defaultIo,
): Promise<number> {
  const secrets = [environment.openaiApiKey].filter((value): value is string => Boolean(value));
  const say = (text: string) => io.stderr(redact(text, secrets));
  let resumeHint: string | undefined;
  const onInterrupt = () => {
    say(`\nInterrupted. ${resumeHint}\n`);
    process.exit(130);
  };
  try {
    const parsed = parseArguments(argv, io);
    if (typeof parsed === "number") return parsed;
    const { topic: words, options } = parsed;

    // Everything a user can get wrong is checked here, before a model is created or called.
    const sections = options.plan
      ? await readPlan(resolve(environment.workingDirectory, options.plan))
      : undefined;
    const input = validateInput({ topic: words.join(" "), sections });
    const configurable = configurationFrom(options);
    if (options.roles) {
      configurable.roles = (await readJsonArray(
        resolve(environment.workingDirectory, options.roles),
        {
          field: "roles",
          expected: 'a JSON array of { "name": "...", "background": "..." }',
        },
      )) as ConfigurationInput["roles"];
    }
    const configuration = resolveConfiguration({ configurable });
    const out = resolve(environment.workingDirectory, options.out);
    const force = options.force ?? false;
    await checkWritable(out, { force });
    if (options.wikipediaUrl && !/^https?:\/\/[^/]+/.test(options.wikipediaUrl)) {
      throw new InvalidInputError({
        field: "wikipedia-url",
        message: `--wikipedia-url ${options.wikipediaUrl} is not an http(s) URL: give the site's address, e.g. https://en.wikipedia.org.`,
      });
    }
    const tools = [
      ...(options.sources
        ? [
            await createSourcesTool({
              directory: resolve(environment.workingDirectory, options.sources),
            }),
          ]
        : []),
      ...(options.wikipedia || options.wikipediaUrl
        ? [createWikipediaTool({ baseUrl: options.wikipediaUrl })]
        : []),
    ];

    const offline = usesOfflineModel({ environment, offline: options.offline });
    const store = await openCheckpointer({
      postgresUrl: environment.postgresUrl,
      sqlitePath: resolve(environment.workingDirectory, options.db),
    });
    try {
      let total = 0;
      let done = 0;
      // Progress counts a section once its result is stored, so "done" means it survives a crash.
      const checkpointer = observeSavedWrites(store.checkpointer, (writes) => {
        for (const [channel, value] of writes) {
          // Workers write arrays of sections; the orchestrator's resets (Overwrite) are not progress.
          if (options.quiet || !Array.isArray(value)) continue;
          if (channel !== "completedSections" && channel !== "failedSections") continue;
          for (const section of value as { name: string; error?: string }[]) {
            done += 1;
            const count = `[${done}${total ? `/${total}` : ""}]`;
            say(
              section.error === undefined
                ? `${count} done: ${section.name}\n`
                : `${count} FAILED: ${section.name}: ${section.error}\n`,
            );
          }
        }
      });
      const graph = buildGraph({
        environment,
        offline: options.offline,
        checkpointer,
        tools,
        onOfflineModel: (notice) => say(`note: ${notice}\n`),
      });
      const threadId = options.thread ?? randomUUID();
      const config = {
        configurable: { ...configurable, thread_id: threadId },
        maxConcurrency: configuration.maxConcurrency,
        // Every finished section is on disk before the run goes on: a crash loses none of them.
        durability: "sync" as const,
      };

      const previous = await graph.getState(config);
      const previousTopic = (previous.values as { topic?: string }).topic;
      if (previousTopic !== undefined && previousTopic !== input.topic) {
        throw new InvalidInputError({
          field: "thread",
          message: `Thread ${threadId} is a run about "${previousTopic}": give that topic to resume it, or another --thread for a new run.`,
        });
      }
      // An unfinished run resumes where it stopped (LangGraph re-runs only the tasks with no saved
      // result); a finished one is run again, and the orchestrator keeps its plan and written sections.
      const resuming = previous.next.length > 0;
      if (resuming) {
        // The plan was announced by the run that stopped; count from what it had stored.
        const stored = previous.values as Partial<ReportOutputType>;
        total = stored.plan?.length ?? 0;
        // getState applies the stored results of the step that was cut short, so they count here.
        done = stored.completedSections?.length ?? 0;
      }
      // Printed even with --quiet: the thread id is what resumes the run after a crash.
      say(
        `${resuming ? "Resuming" : previousTopic ? "Re-running" : "Run"} ${threadId} (stored in ${store.location})\n`,
      );
      resumeHint = `Finished sections are saved: run again with --thread ${threadId} to resume.`;
      process.once("SIGINT", onInterrupt);
      if (!options.quiet) {
        if (!resuming && !previousTopic) {
          say(
            input.sections
              ? `Writing ${input.sections.length} sections from the ready-made plan...\n`
              : `Planning "${input.topic}"${offline ? "" : ` with ${configuration.plannerModel}`}...\n`,
          );
        }
      }

      let next: unknown = resuming ? null : input;
      for (;;) {
        const stream = await graph.stream(next as typeof input, {
          ...config,
          streamMode: "custom",
        });
        for await (const chunk of stream) {
          const event = chunk as ProgressEvent;
          if (options.quiet || event.type !== "plan_ready") continue;
          total = event.sections.length;
          const kept = event.source === "checkpoint";
          // A re-run keeps the sections already written; progress counts on from them.
          if (kept)
            done = (previous.values as Partial<ReportOutputType>).completedSections?.length ?? 0;
          const from = kept ? ` (kept from the earlier run, ${done} written)` : "";
          say(`Plan: ${total} section${total === 1 ? "" : "s"}${from}\n`);
          for (const section of event.sections) say(`  ${section.id}  ${section.name}\n`);
        }
        // A run under review stops after planning; ask, then resume with the answer.
        const snapshot = await graph.getState(config);
        const request = snapshot.tasks.flatMap((task) => task.interrupts)[0]?.value as
          PlanReviewRequest | undefined;
        if (!request) break;
        if (!options.review) {
          say(
            `error: Thread ${threadId} is waiting for its plan to be reviewed: run again with --review.\n`,
          );
          return 1;
        }
        const answer = await askPlanReview(request, {
          say,
          readLine: io.readLine,
          editor: io.editor,
        });
        if (answer === undefined) {
          say(
            `\nerror: No answer to the plan review. The run is paused: run again with --thread ${threadId} --review.\n`,
          );
          return 1;
        }
        next = new GraphCommand({ resume: answer });
      }

      const final = (await graph.getState(config)).values as ReportOutputType;
      for (const warning of final.warnings ?? []) say(`warning: ${warning}\n`);
      if (final.usage) say(`${usageFooter(final.usage).replace(/^_|_$/g, "")}\n`);
      if (!final.report) throw new Error("The run ended without a report.");
      await writeFileAtomically(out, final.report, { force });
      io.stdout(`${out}\n`);
      const failed = final.failedSections ?? [];
      if (failed.length > 0) {
        say(
          `error: ${failed.length} of ${final.plan.length} sections failed; the report marks them as missing. Run again with --thread ${threadId} to retry only those:\n`,
        );
        for (const section of failed) say(`  ${section.id}  ${section.name}: ${section.error}\n`);
        return 1;
      }
      return 0;
    } finally {
      await store.close();
    }
  } catch (error) {
    if (InvalidInputError.isInstance(error)) {
      say(`error: ${error.message}\n`);
      return 2;
    }
    const message = error instanceof Error ? error.message : String(error);
    const kind = OrchestratorWorkersError.isInstance(error) ? "" : " (unexpected)";
    say(`error${kind}: ${oneLine(message)}${resumeHint ? ` ${resumeHint}` : ""}\n`);
    return 1;
  } finally {
    process.removeListener("SIGINT", onInterrupt);
    io.closeInput();
    // LangSmith sends traces in the background; a plain exit would drop them.
    await awaitAllCallbacks();
  }
}

function parseArguments(
  argv: string[],
  io: CliIo,
): { topic: string[]; options: CliOptions } | number {
  const program = new Command()
    .name("npm run report --")
    .description(
      "Plan a report on a topic, write its sections in parallel, and assemble them in plan order.",
    )
    .argument("[topic...]", "what the report is about (quote it, or give it as several words)")
    .option("-o, --out <path>", "file to write the Markdown report to", "report.md")
    .option("-f, --force", "overwrite the --out file if it already exists")
    .option(
      "-n, --max-sections <n>",
      "most sections the planner may plan (default 8)",
      positiveInteger,
    )
    .option(
      "-m, --model <name>",
      "chat model for the planner and the writers (default gpt-4.1-mini)",
    )
    .option("--planner-model <name>", "chat model for the planner only")
    .option("--writer-model <name>", "chat model for the writers only")
    .option("-t, --temperature <t>", "sampling temperature, 0 to 2 (default 0.2)", temperature)
    .option(
      "--plan <file>",
      "ready-made plan: a JSON array of { name, description } (skips planning)",
    )
    .option(
      "--thread <id>",
      "name the run; running again with the same id resumes it, writing only missing sections",
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
      'roster of specialist roles: a JSON array of { "name": "...", "background": "..." }',
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
    .addHelpText(
      "after",
      `
Environment:
  OPENAI_API_KEY    key for OpenAI or an OpenAI-compatible server
  OPENAI_BASE_URL   base URL of an OpenAI-compatible server (Ollama, vLLM, LM Studio...)
  POSTGRES_URL      store runs in PostgreSQL (also DATABASE_URL) instead of the --db SQLite file
  With neither set, the offline placeholder model writes a labelled placeholder report.

Exit codes: 0 written, 1 the run failed or some sections failed (the report marks them),
2 bad usage or input (nothing sent, nothing written).

Example:
  npm run report -- "How tides work" --out tides.md --max-sections 5`,
    )
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  try {
    program.parse(argv, { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.code === "commander.helpDisplayed" || error.code === "commander.version" ? 0 : 2;
    }
    throw error;
  }
  return { topic: program.args, options: program.opts<CliOptions>() };
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
  const planner = options.plannerModel ?? options.model;
  const writer = options.writerModel ?? options.model;
  if (planner) configuration.plannerModel = planner;
  if (writer) configuration.writerModel = writer;
  return configuration;
}

async function readPlan(path: string): Promise<InputSection[]> {
  return (await readJsonArray(path, {
    field: "plan",
    expected: 'a JSON array of { "name", "description" }',
    key: "sections",
  })) as InputSection[];
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
    value = JSON.parse(text);
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

function positiveInteger(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) {
    throw new InvalidArgumentError("give a whole number of 1 or more.");
  }
  return number;
}

function temperature(value: string): number {
  const number = Number(value);
  if (value.trim() === "" || !Number.isFinite(number) || number < 0 || number > 2) {
    throw new InvalidArgumentError("give a number from 0 to 2.");
  }
  return number;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}

function redact(text: string, secrets: string[]): string {
  return secrets.reduce((result, secret) => result.split(secret).join("[redacted]"), text);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  process.exitCode = await runCli(process.argv.slice(2));
}
