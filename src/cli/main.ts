#!/usr/bin/env node
/**
 * Command-line entry: `npm run report -- "<topic>" [options]`. The only module that reads argv.
 * Exit codes: 0 the report was written, 1 the run failed, 2 bad usage or input (nothing was sent
 * to a model and nothing was written), 130 / 143 stopped by Ctrl-C / SIGTERM (the run stops, the MCP
 * servers are closed, the resume hint is printed), 141 the report's reader closed standard output
 * before the report reached it (`--out - | head -1`), as a program stopped by SIGPIPE.
 */
import { randomUUID } from "node:crypto";
import { realpathSync } from "node:fs";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as delay } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import { awaitAllCallbacks } from "@langchain/core/callbacks/promises";
import { Command as GraphCommand } from "@langchain/langgraph";
import { readEnvironment, secretsOf, type Environment } from "../env.js";
import {
  InvalidInputError,
  OrchestratorWorkersError,
  ownCause,
  redact,
  shortMessage,
} from "../errors.js";
import { buildGraph } from "../graph/graph.js";
import { mcpSecretsOf, type McpServerConnections } from "../tools/mcp.js";
import { modelNameFor, usesOfflineModel } from "../models/chat-models.js";
import type { ProgressEvent } from "../schemas/events.js";
import { printable, terminalText } from "../schemas/input.js";
import type { PlanReviewRequest } from "../schemas/review.js";
import type { ReportOutputType } from "../schemas/state.js";
import { usageFooter } from "../schemas/usage.js";
import { STDOUT, checkThreadId, parseArguments, prepareRun, type RunRequest } from "./options.js";
import { ProgressDisplay } from "./progress.js";
import { ReportFileError, withReportMarker, writeFileAtomically } from "./report-file.js";
import { askPlanReview } from "./review-prompt.js";
import { DEFAULT_CHECKPOINT_FILE, IN_MEMORY_NOTICE, openRunStore } from "./run-store.js";
import { runRunsCommand } from "./runs.js";
import { redactTracerErrors } from "./tracing.js";

/** Where the CLI writes: injectable so tests can capture output. */
export interface CliIo {
  stdout: (text: string) => void;
  /**
   * Resolves once everything given to `stdout` so far was written, with the error of a write
   * that failed (EPIPE when the reader went away, as `| head -1` does), else undefined.
   */
  stdoutWritten: () => Promise<NodeJS.ErrnoException | undefined>;
  stderr: (text: string) => void;
  /** Next line of standard input, or undefined at its end (plan review answers). */
  readLine: () => Promise<string | undefined>;
  /** Closes standard input's reader, if one was opened. */
  closeInput: () => void;
  /** Editor command for editing a plan, when the CLI runs in a terminal. */
  editor?: string;
}

type StreamInput = Parameters<ReturnType<typeof buildGraph>["stream"]>[0];

let stdinLines: AsyncIterator<string> | undefined;
let stdinReader: ReturnType<typeof createInterface> | undefined;
let lastStdoutWrite: Promise<NodeJS.ErrnoException | undefined> = Promise.resolve(undefined);

/** Exit code of a run whose report could not reach standard output: 128 + SIGPIPE, as a shell shows it. */
const CLOSED_OUTPUT_EXIT = 141;

const defaultIo: CliIo = {
  stdout: (text) => {
    lastStdoutWrite = new Promise((done) =>
      process.stdout.write(text, (error) => done(error ?? undefined)),
    );
  },
  stdoutWritten: () => lastStdoutWrite,
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

/**
 * Runs the CLI with `argv` (without node and script) and returns the exit code:
 * 1. parses and checks the options (exit 2 with one line for anything wrong, before any call),
 *    and starts the `--mcp` servers, which are closed however the run ends (Ctrl-C included);
 * 2. opens the run store and the thread (a new one, or the one `--thread` names);
 * 3. streams the run, showing the plan and each stored section, and answers plan reviews;
 * 4. writes the report and says what failed, with how to retry it.
 */
export async function runCli(
  argv: string[],
  environment: Environment = readEnvironment(),
  io: CliIo = defaultIo,
): Promise<number> {
  const secrets = secretsOf(environment);
  // Everything printed is redacted, then made terminal-safe: a server's error text may carry
  // escape sequences, a bell or a carriage return that would retitle the terminal or forge a line.
  const say = (text: string) => io.stderr(terminalText(redact(text, secrets)));
  redactTracerErrors(secrets);
  let resumeHint: string | undefined;
  let mcp: McpServerConnections | undefined;
  let listening = false;
  // Aborted by Ctrl-C or SIGTERM: the run stops dispatching before anything is closed.
  const stopping = new AbortController();
  let stoppedBy: StopSignal | undefined;
  const onStop = (signal: StopSignal) => {
    process.removeListener("SIGINT", onInterrupt);
    process.removeListener("SIGTERM", onTerminate);
    stoppedBy = signal;
    say(`\n${STOP_SIGNALS[signal].said}.${resumeHint ? ` ${resumeHint}` : ""}\n`);
    // No new section request may start while the MCP servers close: stop the run first.
    stopping.abort(new Error(`${STOP_SIGNALS[signal].said} (${signal})`));
    // MCP servers run as child processes: stop them (bounded), so none outlives the CLI.
    void Promise.race([mcp?.close(), delay(INTERRUPT_CLOSE_MS, undefined, { ref: false })]).finally(
      () => process.exit(STOP_SIGNALS[signal].exitCode),
    );
  };
  const onInterrupt = () => onStop("SIGINT");
  const onTerminate = () => onStop("SIGTERM");
  // Once each: a second Ctrl-C, while the servers close, ends the process at once.
  const listenForInterrupt = () => {
    if (!listening) {
      process.once("SIGINT", onInterrupt);
      process.once("SIGTERM", onTerminate);
    }
    listening = true;
  };
  try {
    // `runs` lists and prunes the stored runs instead of starting one.
    if (argv[0] === "runs") return await runRunsCommand(argv.slice(1), { environment, io });
    const parsed = parseArguments(argv, io);
    if (typeof parsed === "number") return parsed;
    // `--thread ID` alone resumes the stored run: its topic comes from the thread.
    const topic =
      parsed.topic.length === 0 && parsed.options.thread
        ? [await storedTopic(parsed.options.thread, parsed.options.db, environment)]
        : parsed.topic;
    const request = await prepareRun(topic, parsed.options, environment);
    // The servers' env and header values may be keys: never printed.
    if (request.mcpServers) {
      secrets.push(...mcpSecretsOf(request.mcpServers));
      redactTracerErrors(secrets);
    }
    mcp = request.mcp;
    if (mcp) listenForInterrupt();
    try {
      return await runRequest(request);
    } finally {
      await request.mcp?.close();
    }
  } catch (error) {
    // Stopped by a signal: what the stopped run threw says nothing the user needs.
    if (stoppedBy) return STOP_SIGNALS[stoppedBy].exitCode;
    if (InvalidInputError.isInstance(error)) {
      say(`error: ${error.message}\n`);
      return 2;
    }
    const kind =
      OrchestratorWorkersError.isInstance(error) || ownCause(error) ? "" : " (unexpected)";
    const message = shortMessage(error, {
      withName: false,
      maxLength: 2000,
      redact: (text) => redact(text, secrets),
    });
    say(`error${kind}: ${message}${resumeHint ? ` ${resumeHint}` : ""}\n`);
    return 1;
  } finally {
    process.removeListener("SIGINT", onInterrupt);
    process.removeListener("SIGTERM", onTerminate);
    io.closeInput();
    // LangSmith sends traces in the background; a plain exit would drop them.
    await awaitAllCallbacks();
  }

  /** Steps 2 to 4, for a checked request. */
  async function runRequest(request: RunRequest): Promise<number> {
    const { thread, db } = request.options;
    const store = await openRunStore({
      postgresUrl: environment.postgresUrl,
      sqlitePath: resolve(environment.workingDirectory, db),
      // Without the SQLite saver the run still works, kept in memory; a run that names its thread
      // (to resume it) or its --db file asked for a stored run, and is refused saying what to install.
      inMemoryFallback: thread === undefined && db === DEFAULT_CHECKPOINT_FILE,
      purpose:
        thread === undefined
          ? `Storing runs in ${printable(db)} (--db)`
          : "A run that can be resumed (--thread)",
    });
    try {
      const progress = new ProgressDisplay(say, request.options.quiet ?? false);
      store.onSavedWrites((writes) => progress.onSaved(writes));
      const graph = buildGraph({
        environment,
        offline: request.options.offline,
        checkpointer: store.checkpointer,
        secrets,
        tools: request.tools,
        onOfflineModel: (notice) => say(`note: ${notice}\n`),
      });
      const threadId = request.options.thread ?? randomUUID();
      await store.holdThread(threadId); // one process per thread; store.close() releases it
      const config = {
        configurable: { ...request.configurable, thread_id: threadId },
        maxConcurrency: request.configuration.maxConcurrency,
        // Every finished section is on disk before the run goes on: a crash loses none of them.
        durability: "sync" as const,
        // A write the store cannot make stops the run at once: no section is started unsaved.
        // Ctrl-C or SIGTERM stops it too, before the MCP servers are closed.
        signal: AbortSignal.any([store.writeFailed, stopping.signal]),
      };
      const thread = await openThread(graph, config, request);
      if (store.durable) {
        // Printed even with --quiet: the thread id is what resumes the run after a crash.
        say(
          `${thread.resuming ? "Resuming" : thread.previousTopic ? "Re-running" : "Run"} ${threadId} (stored in ${store.location})\n`,
        );
        resumeHint = `Finished sections are saved: run again with --thread ${threadId} to resume.`;
      } else {
        // In its place, once, even with --quiet: how to get runs that a crash does not lose.
        say(`${IN_MEMORY_NOTICE}\n`);
      }
      listenForInterrupt();
      if (thread.resuming) progress.resumeFrom(thread.stored);
      else if (!thread.previousTopic && !request.options.quiet)
        say(startLine(request, environment));

      let next: StreamInput = thread.resuming ? null : request.input;
      for (;;) {
        for await (const event of await graph.stream(next, { ...config, streamMode: "custom" })) {
          progress.onEvent(event as ProgressEvent, thread.stored.done);
        }
        // A run under review stops after planning; ask, then resume with the answer.
        const review = (await graph.getState(config)).tasks.flatMap((task) => task.interrupts)[0]
          ?.value as PlanReviewRequest | undefined;
        if (!review) break;
        const answer = await answerReview(review, request, threadId, store.durable, io, say);
        if (answer === undefined) return 1;
        next = new GraphCommand({ resume: answer });
      }
      const final = (await graph.getState(config)).values as ReportOutputType;
      return await finish(final, request, { threadId, durable: store.durable }, say, io);
    } catch (error) {
      // The run was stopped because the store failed: say that, not how the run was stopped.
      throw store.failure() ?? error;
    } finally {
      await store.close();
    }
  }
}

/** Most time Ctrl-C waits for the MCP servers to close before the CLI exits anyway. */
const INTERRUPT_CLOSE_MS = 5000;

/** The signals that stop a run as Ctrl-C does, what the CLI says and its exit code (128 + n). */
const STOP_SIGNALS = {
  SIGINT: { said: "Interrupted", exitCode: 130 },
  SIGTERM: { said: "Terminated", exitCode: 143 },
} as const;
type StopSignal = keyof typeof STOP_SIGNALS;

/** The topic of a stored thread, for `--thread ID` without a topic. */
async function storedTopic(threadId: string, db: string, environment: Environment) {
  checkThreadId(threadId);
  const store = await openRunStore({
    postgresUrl: environment.postgresUrl,
    sqlitePath: resolve(environment.workingDirectory, db),
    purpose: "Resuming a stored run (--thread)",
  });
  try {
    const tuple = await store.checkpointer.getTuple({ configurable: { thread_id: threadId } });
    const topic = (tuple?.checkpoint.channel_values as { topic?: unknown } | undefined)?.topic;
    if (typeof topic !== "string" || topic.trim() === "") {
      throw new InvalidInputError({
        field: "thread",
        message: `Thread ${threadId} is not stored in ${store.location}: give the topic to start a run, or the id of a stored one (orchestrator-workers runs lists them).`,
      });
    }
    return topic;
  } finally {
    await store.close();
  }
}

/** What the thread already holds: nothing, an unfinished run to resume, or a finished one. */
async function openThread(
  graph: ReturnType<typeof buildGraph>,
  config: { configurable: { thread_id: string } },
  request: RunRequest,
) {
  const previous = await graph.getState(config);
  const values = previous.values as Partial<ReportOutputType> & { topic?: string };
  const previousTopic = values.topic;
  if (previousTopic !== undefined && previousTopic !== request.input.topic) {
    throw new InvalidInputError({
      field: "thread",
      message: `Thread ${config.configurable.thread_id} is a run about "${previousTopic}": give that topic to resume it, or another --thread for a new run.`,
    });
  }
  return {
    previousTopic,
    // An unfinished run resumes where it stopped (LangGraph re-runs only the tasks with no saved
    // result); a finished one is run again, and the orchestrator keeps its plan and sections.
    resuming: previous.next.length > 0,
    // getState applies the stored results of the step that was cut short, so they count here.
    stored: {
      total: values.plan?.sections.length ?? 0,
      done: values.completedSections?.length ?? 0,
    },
  };
}

function startLine(request: RunRequest, environment: Environment): string {
  if (request.input.sections) {
    return `Writing ${request.input.sections.length} sections from the ready-made plan...\n`;
  }
  const offline = usesOfflineModel({
    environment,
    offline: request.options.offline,
    configuration: request.configuration,
  });
  const model = offline ? "" : ` with ${modelNameFor("planner", request.configuration)}`;
  return `Planning "${request.input.topic}"${model}...\n`;
}

/** Asks the person at the terminal to review the plan; undefined when there is no answer. */
async function answerReview(
  review: PlanReviewRequest,
  request: RunRequest,
  threadId: string,
  durable: boolean,
  io: CliIo,
  say: (text: string) => void,
): Promise<unknown> {
  if (!request.options.review) {
    say(
      `error: Thread ${threadId} is waiting for its plan to be reviewed: run again with --review.\n`,
    );
    return undefined;
  }
  const answer = await askPlanReview(review, { say, readLine: io.readLine, editor: io.editor });
  if (answer === undefined) {
    say(
      durable
        ? `\nerror: No answer to the plan review. The run is paused: run again with --thread ${threadId} --review.\n`
        : "\nerror: No answer to the plan review, and this run was kept in memory only: nothing was written.\n",
    );
  }
  return answer;
}

/**
 * Writes the report, prints the warnings and the bill, and says what failed: the exit code. A
 * file gets the marker that lets a re-run without `--out` replace it (`withReportMarker`).
 */
async function finish(
  final: ReportOutputType,
  request: RunRequest,
  run: { threadId: string; durable: boolean },
  say: (text: string) => void,
  io: CliIo,
): Promise<number> {
  for (const warning of final.warnings ?? []) say(`warning: ${warning}\n`);
  if (final.usage) say(`${usageFooter(final.usage).replace(/^_|_$/g, "")}\n`);
  if (!final.report) throw new Error("The run ended without a report.");
  let outputClosed = false;
  if (request.out === STDOUT) {
    io.stdout(final.report);
    const error = await io.stdoutWritten();
    // The reader left (`| head -1`): not a failure of the run, which is done (and stored); the
    // exit code says the report did not all arrive, as a program stopped by SIGPIPE would.
    if (error?.code === "EPIPE") outputClosed = true;
    else if (error) {
      throw new ReportFileError(`Cannot write the report to standard output: ${error.message}.`, {
        cause: error,
      });
    }
  } else {
    await writeFileAtomically(request.out, withReportMarker(final.report), {
      force: request.options.force ?? false,
      replaceUnchangedReport: request.options.defaultOut ?? false,
    });
    // Only the path: when its reader has gone, the report is still written.
    io.stdout(`${request.out}\n`);
  }
  const failed = final.failedSections ?? [];
  const code = outputClosed ? CLOSED_OUTPUT_EXIT : failed.length === 0 ? 0 : 1;
  if (failed.length === 0) return code;
  const retry = run.durable
    ? ` Run again with --thread ${run.threadId}${request.out === STDOUT ? " --out -" : ` --out ${request.out} --force`} to retry only those${request.out === STDOUT ? "" : " and rewrite the report"}:`
    : ":";
  say(
    `error: ${failed.length} of ${final.plan?.sections.length ?? 0} sections failed; the report marks them as missing.${retry}\n`,
  );
  for (const section of failed) say(`  ${section.id}  ${section.name}: ${section.error}\n`);
  return code;
}

/** True when this module is the program node runs (directly, or through the package's `bin` link). */
function isMain(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

if (isMain()) {
  // A reader that goes away (`--help | head -1`, `runs | head -1`) makes writes fail with EPIPE.
  // Each write's error reaches its callback (see `stdoutWritten`); without these listeners it
  // would also be an unhandled 'error' event, a stack trace. Help, the version and the runs
  // listing then exit 0 as they would have; a run exits 141 only when the report itself did not
  // arrive (see `finish`). A closed stderr leaves nowhere to say anything.
  process.stdout.on("error", () => undefined);
  process.stderr.on("error", () => undefined);
  const code = await runCli(process.argv.slice(2));
  // Everything the run started is closed or flushed by now (the report's write was awaited, the
  // traces too), but a library may still hold a timer: the MCP SDK's 60 s handshake timeout of a
  // server that never answered kept the CLI alive for a minute after its 30 s start timeout said
  // so. Nothing is left to wait for.
  process.exit(code);
}
