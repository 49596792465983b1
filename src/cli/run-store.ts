import { mkdir, open } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { RunnableConfig } from "@langchain/core/runnables";
import {
  BaseCheckpointSaver,
  MemorySaver,
  type ChannelVersions,
  type Checkpoint,
  type CheckpointListOptions,
  type CheckpointMetadata,
  type CheckpointTuple,
  type PendingWrite,
} from "@langchain/langgraph-checkpoint";
import type { PostgresSaver } from "@langchain/langgraph-checkpoint-postgres";
import { InvalidInputError, OrchestratorWorkersError, shortMessage } from "../errors.js";
import { printable } from "../schemas/input.js";
import { withOneStatementWrites, type PgQueryable } from "./postgres-writes.js";
import {
  POSTGRES_HOLDERS_TABLE_SQL,
  acquirePostgresLease,
  acquireSqliteLease,
  advisoryLockKey,
  setUpSqliteLeases,
  type PostgresClient,
  type SqliteHandle,
  type ThreadLease,
  type ThreadLeaseOptions,
} from "./thread-lease.js";

/** Default SQLite file for the CLI's runs, relative to the working directory. */
export const DEFAULT_CHECKPOINT_FILE = ".orchestrator-workers/checkpoints.sqlite";

/** The package of the default run store (SQLite): an optional peer, a native build. */
export const SQLITE_SAVER_PACKAGE = "@langchain/langgraph-checkpoint-sqlite";

/**
 * What the CLI says, once, when it runs on the in-memory store because the SQLite saver is not
 * installed: the run works, but nothing of it outlives the process.
 */
export const IN_MEMORY_NOTICE = `note: this run is kept in memory only and cannot be resumed (${SQLITE_SAVER_PACKAGE} is not installed); for durable, resumable runs: npm install ${SQLITE_SAVER_PACKAGE}, or set POSTGRES_URL.`;

/** An open run store: its checkpointer, where it keeps runs (without credentials), how to close it. */
export interface RunStore {
  checkpointer: BaseCheckpointSaver;
  /** Where runs are stored, safe to print: a file path, or a PostgreSQL URL without password. */
  location: string;
  /**
   * False for the in-memory store (`inMemoryFallback`): the run is lost with the process, so there
   * is no thread to resume and no other process to share it with.
   */
  durable: boolean;
  /**
   * Takes `threadId` for this process until `close()` (one thread, one process; see
   * `thread-lease.ts`). Throws an `InvalidInputError` naming the holder when another process runs
   * it, and a `RunStoreError` when the store cannot be written (its health check, before any model
   * request). From then on every write first checks that the thread is still this process's.
   */
  holdThread(threadId: string): Promise<void>;
  /**
   * A signal that aborts when a write to the store fails for good (after its retries), so the
   * run starts no further section it could not save; `failure()` then gives the store's error.
   */
  readonly writeFailed: AbortSignal;
  failure(): RunStoreError | OrchestratorWorkersError | undefined;
  /**
   * Tells `listener` of each task's writes once they are stored, not merely produced: what the
   * CLI reports as done survives a crash from then on.
   */
  onSavedWrites(listener: (writes: PendingWrite[]) => void): void;
  /** Gives the thread up and closes the store. */
  close(): Promise<void>;
}

/** The run store could not be read or written (disk full, read-only file, connection lost). */
export class RunStoreError extends OrchestratorWorkersError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("RunStoreError", message, options);
  }

  static override isInstance(error: unknown): error is RunStoreError {
    return OrchestratorWorkersError.isInstance(error) && error.name === "RunStoreError";
  }
}

/** The part of `pg` the store uses (the driver ships no types here; it comes with the saver). */
interface PgConfig {
  connectionString: string;
  connectionTimeoutMillis?: number;
  keepAlive?: boolean;
}
interface PgEvents {
  on(event: "error" | "end", listener: (error?: Error) => void): unknown;
}
interface PgPool extends PgQueryable {
  on(event: "error", listener: (error: Error) => void): unknown;
  on(event: "connect", listener: (client: PgEvents) => void): unknown;
  connect(): Promise<PostgresClient & { release(error?: Error): void }>;
  end(): Promise<void>;
}
interface PgModule {
  Pool: new (config: PgConfig) => PgPool;
  Client: new (
    config: PgConfig,
  ) => PostgresClient & PgEvents & { connect(): Promise<void>; end(): Promise<void> };
}

/**
 * A checkpointer package, loaded when a run needs it: library users who never store runs do not
 * install them (better-sqlite3 is a native build). A missing one is a one-line error naming it and
 * what `purpose` needs it for; `alternative` ends the line with another way.
 */
async function checkpointerPackage<T>(name: string, purpose: string, alternative = ""): Promise<T> {
  const loaded = await optionalPackage<T>(name);
  if (loaded) return loaded;
  throw new InvalidInputError({
    field: "store",
    message: `${purpose} needs the package ${name}, which is not installed: npm install ${name}${alternative}`,
  });
}

/**
 * The package `name`, or undefined when it is not installed. Anything else that stops it loading
 * (a dependency of it missing, a native add-on built for another Node) is thrown as it is: an
 * installed but broken store is not quietly replaced by another.
 */
async function optionalPackage<T>(name: string): Promise<T | undefined> {
  try {
    return (await import(name)) as T;
  } catch (error) {
    const code = (error as { code?: string }).code;
    const missing =
      (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") &&
      String((error as { message?: unknown }).message).includes(`'${name}'`);
    if (!missing) throw error;
    return undefined;
  }
}

/**
 * The SQLite saver package; when it is not installed, a one-line `InvalidInputError` saying that
 * `purpose` needs it, and how to install it (or to use PostgreSQL instead).
 */
export function sqliteSaverPackage(
  purpose: string,
): Promise<typeof import("@langchain/langgraph-checkpoint-sqlite")> {
  return checkpointerPackage(
    SQLITE_SAVER_PACKAGE,
    purpose,
    ", or set POSTGRES_URL to store runs in PostgreSQL.",
  );
}

/**
 * A PostgreSQL connection of its own (for a thread lease), with the driver that comes with the
 * saver; its errors never become an unhandled 'error' event.
 */
export async function connectPostgresClient(
  postgresUrl: string,
): Promise<PostgresClient & { connect(): Promise<void> }> {
  const pg = createRequire(
    createRequire(import.meta.url).resolve("@langchain/langgraph-checkpoint-postgres"),
  )("pg") as PgModule;
  const client = new pg.Client({
    connectionString: postgresUrl,
    connectionTimeoutMillis: 10_000,
    keepAlive: true,
  });
  client.on("error", () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
  return client;
}

/** Waits before each retry of a store call cut by a dropped PostgreSQL connection (about 15 s in all). */
const POSTGRES_RETRY_DELAYS_MS = [100, 250, 500, 1_000, 2_000, 4_000, 8_000];

/** Serialises the schema setup of every process that opens the same database for the first time. */
const SETUP_LOCK_KEY = advisoryLockKey("setup");

/**
 * Opens where the CLI's runs are checkpointed: PostgreSQL when `postgresUrl` is given (any process
 * or machine can then resume any thread), else an embedded SQLite file (created with its folder).
 * With PostgreSQL, a dropped connection (server restart, failover, `pg_terminate_backend`) never
 * crashes the process: the pool opens a new one, and a store call it cut short is tried again
 * (every write is an idempotent upsert) before the run stops with a `RunStoreError`.
 */
export async function openRunStore(options: {
  postgresUrl?: string;
  sqlitePath: string;
  /** How the thread lease behaves (staleness of a SQLite lease, for tests). */
  lease?: ThreadLeaseOptions;
  /**
   * When the SQLite saver package is not installed, run on LangGraph's `MemorySaver` instead of
   * refusing (`durable` is then false): for a run that needs no stored thread. PostgreSQL, when
   * asked for, is never replaced.
   */
  inMemoryFallback?: boolean;
  /** What needs the stored runs, for the message when the SQLite saver is not installed. */
  purpose?: string;
}): Promise<RunStore> {
  if (options.postgresUrl) {
    const config: PgConfig = {
      connectionString: options.postgresUrl,
      connectionTimeoutMillis: 10_000,
      keepAlive: true,
    };
    const location = withoutPassword(options.postgresUrl);
    const { PostgresSaver } = await checkpointerPackage<
      typeof import("@langchain/langgraph-checkpoint-postgres")
    >("@langchain/langgraph-checkpoint-postgres", "Storing runs in PostgreSQL (POSTGRES_URL)");
    // The driver comes with the saver; it ships no types here.
    const pg = createRequire(
      createRequire(import.meta.url).resolve("@langchain/langgraph-checkpoint-postgres"),
    )("pg") as PgModule;
    const pool = new pg.Pool(config);
    // An idle connection that drops is removed by the pool, which opens a new one for the next
    // query; one in use fails its query, which is retried. Neither is an unhandled 'error' event.
    pool.on("error", () => undefined);
    pool.on("connect", (client) => client.on("error", () => undefined));
    const saver = new (withOneStatementWrites(PostgresSaver, pool))(pool);
    const checkpointer = new StoreCheckpointer(saver, location, POSTGRES_RETRY_DELAYS_MS);
    try {
      // A server that does not answer at the start is more likely a wrong URL than a restart:
      // tried again only briefly.
      await retrying(location, [250, 1_000], "set up", () => setUpPostgres(pool, saver));
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw error;
    }
    const connect = () => connectPostgresClient(options.postgresUrl!);
    return storeWith(checkpointer, location, {
      lease: (threadId) => acquirePostgresLease(connect, threadId, options.lease),
      close: () => pool.end(),
    });
  }
  if (options.inMemoryFallback && !(await optionalPackage<unknown>(SQLITE_SAVER_PACKAGE))) {
    return inMemoryStore();
  }
  const { SqliteSaver } = await sqliteSaverPackage(
    options.purpose ?? "Storing runs in a SQLite file (the default)",
  );
  await mkdir(dirname(options.sqlitePath), { recursive: true });
  await checkSqliteFile(options.sqlitePath);
  const saver = SqliteSaver.fromConnString(options.sqlitePath);
  // better-sqlite3 ships no types of its own; the lease and `close` need only this much.
  const db = saver.db as unknown as SqliteHandle & { pragma(sql: string): unknown; close(): void };
  const checkpointer = new StoreCheckpointer(saver, options.sqlitePath, []);
  return storeWith(checkpointer, options.sqlitePath, {
    // Taking the lease is the store's health check: a file that cannot be written fails here.
    lease: (threadId) => {
      try {
        db.pragma("journal_mode=WAL");
        setUpSqliteLeases(db);
        return Promise.resolve(acquireSqliteLease(db, threadId, options.lease));
      } catch (error) {
        throw notSqlite(options.sqlitePath, error) ?? error;
      }
    },
    close: () => {
      db.close();
      return Promise.resolve();
    },
  });
}

/** The first 16 bytes of every SQLite database file. */
const SQLITE_MAGIC = "SQLite format 3\u0000";

/** The one line a `--db` file that SQLite cannot use gets (exit 2): bad input, not a failed run. */
function notSqliteError(path: string, what: string, cause?: unknown): InvalidInputError {
  return new InvalidInputError({
    field: "db",
    message: `${printable(path)} (--db) ${what}: give --db the run store's file, or a new file name for a new one.`,
    cause,
  });
}

/**
 * Refuses a `--db` file that is not a SQLite database or is shorter than its header says (a
 * truncated copy), before the run opens it: better-sqlite3 opens any file and fails only at the
 * first statement. Reads the 100-byte header only; a missing or empty file is a new store.
 */
async function checkSqliteFile(path: string): Promise<void> {
  let file;
  try {
    file = await open(path, "r");
  } catch {
    return; // Missing: SQLite creates it. Unreadable: SQLite's own error names why.
  }
  try {
    const stats = await file.stat();
    const size = stats.size;
    if (size === 0 || !stats.isFile()) return;
    const header = Buffer.alloc(100);
    const { bytesRead } = await file.read(header, 0, 100, 0);
    if (bytesRead < 100 || header.toString("latin1", 0, 16) !== SQLITE_MAGIC) {
      throw notSqliteError(path, "is not a SQLite database");
    }
    // Page size 1 means 65,536; the page count is valid only while the two counters agree.
    const pageSize = header.readUInt16BE(16) === 1 ? 65_536 : header.readUInt16BE(16);
    const pages = header.readUInt32BE(28);
    const countValid = header.readUInt32BE(24) === header.readUInt32BE(92);
    if (countValid && pages > 0 && size < pageSize * pages) {
      throw notSqliteError(
        path,
        `is truncated (${size} bytes of the ${pageSize * pages} its header gives)`,
      );
    }
  } finally {
    await file.close();
  }
}

/** A one-line `InvalidInputError` for SQLite's "not a database" and "malformed" errors. */
function notSqlite(path: string, error: unknown): InvalidInputError | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "SQLITE_NOTADB") return notSqliteError(path, "is not a SQLite database", error);
  if (typeof code === "string" && code.startsWith("SQLITE_CORRUPT")) {
    return notSqliteError(path, "is corrupt (SQLite: database disk image is malformed)", error);
  }
  return undefined;
}

/**
 * A store in this process's memory: what a run gets when no durable store is installed. No other
 * process can see it, so a thread needs no lease; its writes cannot fail.
 */
function inMemoryStore(): RunStore {
  const location = "memory (this process only)";
  const lease: ThreadLease = {
    holder: `pid ${process.pid}`,
    ensureHeld: () => Promise.resolve(),
    release: () => Promise.resolve(),
  };
  return storeWith(
    new StoreCheckpointer(new MemorySaver(), location, []),
    location,
    { lease: () => Promise.resolve(lease), close: () => Promise.resolve() },
    { durable: false },
  );
}

function storeWith(
  checkpointer: StoreCheckpointer,
  location: string,
  backend: { lease(threadId: string): Promise<ThreadLease>; close(): Promise<void> },
  options: { durable: boolean } = { durable: true },
): RunStore {
  return {
    checkpointer,
    location,
    durable: options.durable,
    holdThread: async (threadId) => {
      if (checkpointer.lease) throw new Error("This run store already holds a thread.");
      checkpointer.lease = await checkpointer.retrying("write to", () => backend.lease(threadId));
    },
    writeFailed: checkpointer.writeFailure.signal,
    onSavedWrites: (listener) => checkpointer.savedListeners.push(listener),
    failure: () => checkpointer.failure,
    close: async () => {
      await checkpointer.lease?.release();
      await backend.close();
    },
  };
}

/**
 * Runs the saver's schema setup under a database-wide advisory lock, so that processes using a
 * fresh database at once do not race on its migrations (`duplicate key ... checkpoint_migrations_pkey`).
 */
async function setUpPostgres(pool: PgPool, saver: PostgresSaver): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query("SELECT pg_advisory_lock($1::bigint)", [SETUP_LOCK_KEY]);
    try {
      await saver.setup();
      await client.query(POSTGRES_HOLDERS_TABLE_SQL);
    } finally {
      await client
        .query("SELECT pg_advisory_unlock($1::bigint)", [SETUP_LOCK_KEY])
        .catch(() => undefined);
    }
    client.release();
  } catch (error) {
    client.release(error instanceof Error ? error : new Error(String(error)));
    throw error;
  }
}

/** A dropped or refused database connection: worth trying the call again on a new one. */
export function isConnectionError(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string") {
    // admin_shutdown, crash_shutdown, cannot_connect_now, too_many_connections, class 08.
    if (/^(57P0[123]|53300|08...)$/.test(code)) return true;
    if (/^(ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN)$/.test(code))
      return true;
  }
  const message = error instanceof Error ? error.message : "";
  return /connection terminated|not queryable|connection error|timeout exceeded when trying to connect|server closed the connection/i.test(
    message,
  );
}

/**
 * Runs `operation`, again after each dropped connection while `delaysMs` remain; then throws a
 * `RunStoreError` saying what failed (this package's own errors go through as they are).
 */
async function retrying<T>(
  location: string,
  delaysMs: readonly number[],
  verb: string,
  operation: () => Promise<T>,
): Promise<T> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await operation();
    } catch (error) {
      const delay = delaysMs[attempt];
      if (delay === undefined || !isConnectionError(error))
        throw storeFailure(location, verb, error);
      await sleep(delay);
    }
  }
}

/** `error` as one line saying what failed; this package's own errors as they are. */
function storeFailure(location: string, verb: string, error: unknown): unknown {
  if (OrchestratorWorkersError.isInstance(error)) return error;
  const message = shortMessage(error, { withName: false, maxLength: 500 }).replace(
    /[^.!?]$/,
    "$&.",
  );
  return new RunStoreError(`Could not ${verb} the run store (${location}): ${message}`, {
    cause: error,
  });
}

/**
 * The checkpointer the CLI runs on: hands every call to the saver it wraps, checks before each
 * write that this process still holds the thread, tries a call again after a dropped connection,
 * and turns a store failure into one `RunStoreError` line.
 */
class StoreCheckpointer extends BaseCheckpointSaver {
  lease: ThreadLease | undefined;
  /** Aborted at the first write that fails for good. */
  readonly writeFailure = new AbortController();
  /** Told of each task's writes once they are stored (`RunStore.onSavedWrites`). */
  readonly savedListeners: ((writes: PendingWrite[]) => void)[] = [];
  failure: OrchestratorWorkersError | undefined;

  constructor(
    private readonly inner: BaseCheckpointSaver,
    private readonly location: string,
    private readonly retryDelaysMs: readonly number[],
  ) {
    super(inner.serde);
  }

  /** Runs `operation`, again after each dropped connection while delays remain. */
  retrying<T>(verb: string, operation: () => Promise<T>): Promise<T> {
    return retrying(this.location, this.retryDelaysMs, verb, operation);
  }

  private async write<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await this.retrying("write to", async () => {
        await this.lease?.ensureHeld();
        return operation();
      });
    } catch (error) {
      if (!this.failure && OrchestratorWorkersError.isInstance(error)) {
        this.failure = error;
        this.writeFailure.abort(error);
      }
      throw error;
    }
  }

  getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
    return this.retrying("read", () => this.inner.getTuple(config));
  }

  async *list(
    config: RunnableConfig,
    options?: CheckpointListOptions,
  ): AsyncGenerator<CheckpointTuple> {
    for (let attempt = 0; ; attempt += 1) {
      let yielded = false;
      try {
        for await (const tuple of this.inner.list(config, options)) {
          yielded = true;
          yield tuple;
        }
        return;
      } catch (error) {
        // Tried again only when nothing was yielded yet: a restart would repeat items.
        const delay = yielded ? undefined : this.retryDelaysMs[attempt];
        if (delay === undefined || !isConnectionError(error))
          throw storeFailure(this.location, "read", error);
        await sleep(delay);
      }
    }
  }

  put(
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    newVersions: ChannelVersions,
  ): Promise<RunnableConfig> {
    return this.write(() => this.inner.put(config, checkpoint, metadata, newVersions));
  }

  async putWrites(
    config: RunnableConfig,
    writes: PendingWrite[],
    taskId: string,
    taskPath?: string,
  ): Promise<void> {
    await this.write(() => this.inner.putWrites(config, writes, taskId, taskPath));
    // Heard only once stored: what the CLI reports as done survives a crash from then on.
    for (const listener of this.savedListeners) listener(writes);
  }

  deleteThread(threadId: string): Promise<void> {
    return this.write(() => this.inner.deleteThread(threadId));
  }

  override getNextVersion(current: number | undefined): number {
    return this.inner.getNextVersion(current);
  }
}

function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "PostgreSQL";
  }
}
