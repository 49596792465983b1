/**
 * `orchestrator-workers runs`: lists the runs the run store keeps (one line per thread, newest
 * first), and `runs prune --older-than DURATION` deletes the old ones. Exit codes: 0 done, 1 the
 * store could not be read or written, 2 bad usage.
 */
import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import type { CheckpointTuple } from "@langchain/langgraph-checkpoint";
import { Command, CommanderError } from "commander";
import { secretsOf, type Environment } from "../env.js";
import { InvalidInputError, OrchestratorWorkersError, redact, shortMessage } from "../errors.js";
import { graphemes, plainLine, printable, terminalText } from "../schemas/input.js";
import {
  DEFAULT_CHECKPOINT_FILE,
  RunStoreError,
  connectPostgresClient,
  openRunStore,
  sqliteSaverPackage,
  type RunStore,
} from "./run-store.js";
import {
  acquirePostgresLease,
  acquireSqliteLease,
  setUpSqliteLeases,
  type SqliteHandle,
  type ThreadLease,
} from "./thread-lease.js";

/** What `runs` needs from the CLI: the environment, where to write, and (for tests) the time. */
export interface RunsContext {
  environment: Environment;
  io: { stdout(text: string): void; stderr(text: string): void };
  /** The current time (default: now): what the ages and `--older-than` count from. */
  now?: Date;
}

/** One stored thread, as its latest checkpoint describes it. */
export interface StoredRun {
  threadId: string;
  /** `complete`, `failed N`, `under review` or `unfinished`. */
  status: string;
  /** Sections written, of the plan's sections (0 of 0 before a plan). */
  done: number;
  total: number;
  failed: number;
  /** Estimated cost in US dollars, when the run has one. */
  costUsd?: number;
  /** When the latest checkpoint was written (undefined when unreadable). */
  updatedAt?: Date;
  /** The topic as one line of visible text ("" when none is stored). */
  topic: string;
}

/** Longest topic shown in the list, in user-perceived characters. */
const TOPIC_WIDTH = 60;

const DURATION_UNITS_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * Runs `orchestrator-workers runs ...` with `argv` (the words after `runs`) and returns the exit
 * code: lists the stored runs, or prunes the old ones (`prune --older-than 30d [--dry-run]`).
 */
export async function runRunsCommand(argv: string[], context: RunsContext): Promise<number> {
  const { environment, io } = context;
  const secrets = secretsOf(environment);
  const out = (text: string) => io.stdout(terminalText(redact(text, secrets)));
  const err = (text: string) => io.stderr(terminalText(redact(text, secrets)));
  const now = context.now ?? new Date();
  let action: (() => Promise<number>) | undefined;

  const program = new Command()
    .name("orchestrator-workers runs")
    .description(
      "List the stored runs, newest first: thread id, status, sections written, estimated cost, age and topic.",
    )
    .option(
      "--db <file>",
      "SQLite file that stores runs (not used when POSTGRES_URL is set)",
      DEFAULT_CHECKPOINT_FILE,
    )
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ writeOut: out, writeErr: err })
    .addHelpText(
      "after",
      `
Status: complete; failed N (the report marks N sections as missing); under review (waiting for
--review); unfinished (stopped before its report: run again with --thread ID to resume).

Example:
  orchestrator-workers runs
  orchestrator-workers runs prune --older-than 30d --dry-run`,
    )
    .action((options: { db: string }) => {
      action = () => list(options.db);
    });
  program
    .command("prune")
    .description(
      "Delete the stored runs whose latest checkpoint is older than DURATION (a run in progress is kept).",
    )
    .requiredOption(
      "--older-than <duration>",
      "age of the runs to delete: a whole number and a unit, s, m, h or d (30d, 12h, 90m, 45s)",
    )
    .option(
      "--db <file>",
      "SQLite file that stores runs (not used when POSTGRES_URL is set)",
      DEFAULT_CHECKPOINT_FILE,
    )
    .option("--dry-run", "list the runs that would be deleted, and delete nothing")
    .action((options: { olderThan: string; db: string; dryRun?: boolean }, command: Command) => {
      // `runs --db FILE prune` and `runs prune --db FILE` both work.
      const db =
        command.getOptionValueSource("db") === "cli"
          ? options.db
          : program.opts<{ db: string }>().db;
      const maxAgeMs = parseDuration(options.olderThan);
      action = () => prune(db, maxAgeMs, options.dryRun ?? false);
    });

  /**
   * Opens the store, or says there is nothing stored (a missing SQLite file is not created).
   * Without the SQLite saver package, runs were kept in memory only: `purpose` is refused saying
   * what to install, rather than listing nothing as if none had been made.
   */
  const open = async (db: string, purpose: string): Promise<RunStore | string> => {
    if (environment.postgresUrl) {
      return openRunStore({ postgresUrl: environment.postgresUrl, sqlitePath: "" });
    }
    await sqliteSaverPackage(purpose);
    const path = await databasePath(db, environment.workingDirectory);
    if (path.missing) return `No stored runs in ${printable(path.path)}.\n`;
    return openRunStore({ sqlitePath: path.path, purpose });
  };

  const list = async (db: string): Promise<number> => {
    const store = await open(db, "Listing stored runs (orchestrator-workers runs)");
    if (typeof store === "string") {
      out(store);
      return 0;
    }
    try {
      const runs = await storedRuns(store);
      if (runs.length === 0) {
        out(`No stored runs in ${printable(store.location)}.\n`);
        return 0;
      }
      out(formatRuns(runs, now));
      return 0;
    } finally {
      await store.close();
    }
  };

  const prune = async (db: string, maxAgeMs: number, dryRun: boolean): Promise<number> => {
    const store = await open(db, "Pruning stored runs (orchestrator-workers runs prune)");
    if (typeof store === "string") {
      out(store);
      return 0;
    }
    const runs = await storedRuns(store).catch(async (error: unknown) => {
      await store.close();
      throw error;
    });
    if (runs.length === 0) {
      await store.close();
      out(`No stored runs in ${printable(store.location)}.\n`);
      return 0;
    }
    const leases = await threadLeases(store, environment).catch(async (error: unknown) => {
      await store.close();
      throw error;
    });
    try {
      const cutoff = now.getTime() - maxAgeMs;
      const old = runs.filter((run) => run.updatedAt && run.updatedAt.getTime() < cutoff);
      // Each line as the list shows it, aligned over the runs that may go.
      const width = (cells: string[]) =>
        Math.max(0, ...cells.map((cell) => graphemes(cell).length));
      const pad = (cell: string, to: number) => cell + " ".repeat(to - graphemes(cell).length);
      const idWidth = width(old.map((run) => printable(run.threadId)));
      const statusWidth = width(old.map((run) => run.status));
      let deleted = 0;
      let kept = 0;
      for (const run of old) {
        const shown = printable(run.threadId);
        // Held while it is deleted: a process starting the thread meanwhile is refused, and one
        // running it now keeps it.
        const lease = await leases.tryHold(run.threadId);
        if (typeof lease === "string") {
          kept += 1;
          err(`note: kept ${shown}: ${lease}\n`);
          continue;
        }
        try {
          // Run again since it was listed: no longer old, it stays.
          const latest = await store.checkpointer.getTuple({
            configurable: { thread_id: run.threadId },
          });
          const ts = latest ? Date.parse(latest.checkpoint.ts) : Number.NaN;
          if (!latest || !(ts < cutoff)) {
            if (latest) {
              kept += 1;
              err(`note: kept ${shown}: it was run again since it was listed.\n`);
            }
            continue;
          }
          if (!dryRun) await store.checkpointer.deleteThread(run.threadId);
          deleted += 1;
          out(
            `${dryRun ? "would delete" : "deleted"}  ${pad(shown, idWidth)}  ${pad(run.status, statusWidth)}  ${formatAge(now.getTime() - ts).padStart(3)}  ${topicCell(run.topic)}\n`,
          );
        } finally {
          await lease.release();
        }
      }
      const inUse = kept > 0 ? ` Kept ${kept} old run${kept === 1 ? "" : "s"} in use.` : "";
      out(
        dryRun
          ? `Would delete ${deleted} of ${runs.length} stored runs (dry run: nothing was deleted).${inUse}\n`
          : `Deleted ${deleted} of ${runs.length} stored runs.${inUse}\n`,
      );
      return 0;
    } finally {
      await leases.close();
      await store.close();
    }
  };

  try {
    try {
      program.parse(argv, { from: "user" });
    } catch (error) {
      if (error instanceof CommanderError) {
        return error.code === "commander.helpDisplayed" || error.code === "commander.help" ? 0 : 2;
      }
      throw error;
    }
    return action ? await action() : 0;
  } catch (error) {
    if (InvalidInputError.isInstance(error)) {
      err(`error: ${error.message}\n`);
      return 2;
    }
    const kind = OrchestratorWorkersError.isInstance(error) ? "" : " (unexpected)";
    err(
      `error${kind}: ${shortMessage(error, { withName: false, maxLength: 2000, redact: (text) => redact(text, secrets) })}\n`,
    );
    return 1;
  }
}

/** `30d`, `12h`, `90m` or `45s` in milliseconds; anything else is bad usage. */
export function parseDuration(text: string): number {
  const match = /^([1-9]\d{0,8})([smhd])$/.exec(text.trim());
  if (!match) {
    throw new InvalidInputError({
      field: "older-than",
      message: `--older-than ${printable(text)} is not a duration: give a whole number and a unit, s, m, h or d (30d, 12h, 90m, 45s).`,
    });
  }
  return Number(match[1]) * DURATION_UNITS_MS[match[2] as keyof typeof DURATION_UNITS_MS];
}

/** The absolute path of `--db`, and whether it is missing; a directory or an empty value is refused. */
async function databasePath(given: string, workingDirectory: string) {
  if (given.trim() === "") {
    throw new InvalidInputError({
      field: "db",
      message: `--db is empty: give the path of the SQLite file that stores runs (default ${DEFAULT_CHECKPOINT_FILE}).`,
    });
  }
  const path = resolve(workingDirectory, given);
  const found = await stat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT" || error.code === "ENOTDIR") return undefined;
    throw new InvalidInputError({
      field: "db",
      message: `Cannot read ${printable(path)} as --db (${error.code ?? error.message}): give the SQLite file that stores runs.`,
    });
  });
  if (found && !found.isFile()) {
    throw new InvalidInputError({
      field: "db",
      message: `--db ${printable(path)} is not a file: give the SQLite file that stores runs.`,
    });
  }
  return { path, missing: found === undefined };
}

/**
 * Every thread of the store, newest first, from its latest checkpoint. The checkpointer lists the
 * checkpoints of all threads when given no thread id (SqliteSaver and PostgresSaver both do, newest
 * first); only root-graph checkpoints (`checkpoint_ns` "") describe a run.
 */
export async function storedRuns(store: Pick<RunStore, "checkpointer">): Promise<StoredRun[]> {
  const latest = new Map<string, CheckpointTuple>();
  for await (const tuple of store.checkpointer.list({ configurable: { checkpoint_ns: "" } })) {
    const threadId = tuple.config.configurable?.thread_id as unknown;
    if (typeof threadId !== "string") continue;
    const seen = latest.get(threadId);
    // Checkpoint ids grow with time within a thread: the largest is the thread's latest.
    const id = String(tuple.config.configurable?.checkpoint_id ?? "");
    if (!seen || id > String(seen.config.configurable?.checkpoint_id ?? "")) {
      latest.set(threadId, tuple);
    }
  }
  const runs = [...latest].map(([threadId, tuple]) => describeRun(threadId, tuple));
  return runs.sort(
    (a, b) =>
      (b.updatedAt?.getTime() ?? 0) - (a.updatedAt?.getTime() ?? 0) ||
      a.threadId.localeCompare(b.threadId),
  );
}

interface StoredValues {
  topic?: unknown;
  plan?: { status?: unknown; sections?: { id?: unknown }[] };
  completedSections?: unknown;
  failedSections?: unknown;
  report?: unknown;
  usage?: { estimatedCostUsd?: unknown };
}

/** The ids of a list of sections (anything else counts for nothing). */
function sectionIds(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return value
    .map((section) => (section as { id?: unknown } | null)?.id)
    .filter((id): id is string => typeof id === "string");
}

function describeRun(threadId: string, tuple: CheckpointTuple): StoredRun {
  const values = (tuple.checkpoint.channel_values ?? {}) as StoredValues;
  const completed = new Set(sectionIds(values.completedSections));
  const failed = new Set(sectionIds(values.failedSections));
  // The results of a step cut short (a killed run) are stored as the checkpoint's pending writes:
  // they count, as they do when the thread is resumed.
  for (const [, channel, value] of tuple.pendingWrites ?? []) {
    if (channel === "completedSections") for (const id of sectionIds(value)) completed.add(id);
    if (channel === "failedSections") for (const id of sectionIds(value)) failed.add(id);
  }
  for (const id of completed) failed.delete(id);
  const planned = Array.isArray(values.plan?.sections) ? sectionIds(values.plan.sections) : [];
  const done = planned.length ? planned.filter((id) => completed.has(id)).length : completed.size;
  const hasReport = typeof values.report === "string" && values.report.trim() !== "";
  const status =
    values.plan?.status === "review"
      ? "under review"
      : hasReport
        ? failed.size > 0
          ? `failed ${failed.size}`
          : "complete"
        : "unfinished";
  const cost = values.usage?.estimatedCostUsd;
  const ts = Date.parse(tuple.checkpoint.ts);
  return {
    threadId,
    status,
    done,
    total: planned.length,
    failed: failed.size,
    ...(typeof cost === "number" && Number.isFinite(cost) ? { costUsd: cost } : {}),
    ...(Number.isFinite(ts) ? { updatedAt: new Date(ts) } : {}),
    topic: typeof values.topic === "string" ? plainLine(values.topic) : "",
  };
}

/** The runs as an aligned table, with a header line. */
export function formatRuns(runs: StoredRun[], now: Date): string {
  const rows = [
    ["THREAD", "STATUS", "SECTIONS", "COST", "AGE", "TOPIC"],
    ...runs.map((run) => [
      printable(run.threadId),
      run.status,
      `${run.done}/${run.total}`,
      run.costUsd === undefined ? "-" : `$${run.costUsd.toFixed(4)}`,
      run.updatedAt ? formatAge(now.getTime() - run.updatedAt.getTime()) : "-",
      topicCell(run.topic),
    ]),
  ];
  const widths = rows[0]!.map((_, column) =>
    Math.max(...rows.map((row) => graphemes(row[column]!).length)),
  );
  // Numbers line up on the right; the topic, last, is not padded.
  const right = new Set([2, 3, 4]);
  return rows
    .map((row) =>
      row
        .map((cell, column) => {
          if (column === row.length - 1) return cell;
          const pad = " ".repeat(widths[column]! - graphemes(cell).length);
          return right.has(column) ? pad + cell : cell + pad;
        })
        .join("  ")
        .trimEnd(),
    )
    .map((line) => `${line}\n`)
    .join("");
}

/** The topic cut to `TOPIC_WIDTH` characters. */
function topicCell(topic: string): string {
  if (topic === "") return "-";
  const characters = graphemes(topic);
  return characters.length > TOPIC_WIDTH
    ? `${characters
        .slice(0, TOPIC_WIDTH - 1)
        .join("")
        .trimEnd()}…`
    : topic;
}

/** An age as `45s`, `3m`, `5h` or `2d` (rounded down). */
export function formatAge(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3_600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3_600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

/**
 * Takes threads' leases (see `thread-lease.ts`) on a connection of its own, so that prune never
 * deletes a thread another process is running: `tryHold` returns the lease, or why the thread is
 * busy.
 */
async function threadLeases(
  store: RunStore,
  environment: Environment,
): Promise<{ tryHold(threadId: string): Promise<ThreadLease | string>; close(): Promise<void> }> {
  const busy = async (take: () => Promise<ThreadLease> | ThreadLease) => {
    try {
      return await take();
    } catch (error) {
      if (InvalidInputError.isInstance(error)) return error.message;
      throw leaseFailure(store.location, error);
    }
  };
  if (environment.postgresUrl) {
    const postgresUrl = environment.postgresUrl;
    const connect = () => connectPostgresClient(postgresUrl);
    return {
      tryHold: (threadId) => busy(() => acquirePostgresLease(connect, threadId)),
      close: () => Promise.resolve(),
    };
  }
  const { SqliteSaver } = await import("@langchain/langgraph-checkpoint-sqlite");
  // A second connection to the same file, for the lease table (better-sqlite3 ships no types).
  const db = SqliteSaver.fromConnString(store.location).db as unknown as SqliteHandle & {
    close(): void;
  };
  try {
    setUpSqliteLeases(db);
  } catch (error) {
    db.close();
    throw leaseFailure(store.location, error);
  }
  return {
    tryHold: (threadId) => busy(() => acquireSqliteLease(db, threadId)),
    close: () => {
      db.close();
      return Promise.resolve();
    },
  };
}

/** A lease that could not be taken for a reason other than another holder, as one line. */
function leaseFailure(location: string, error: unknown): unknown {
  if (OrchestratorWorkersError.isInstance(error)) return error;
  const message = shortMessage(error, { withName: false, maxLength: 500 });
  return new RunStoreError(
    `Could not write to the run store (${location}) to check which runs are in use: ${message}`,
    { cause: error },
  );
}
