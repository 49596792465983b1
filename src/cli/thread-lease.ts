import { createHash, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { InvalidInputError, OrchestratorWorkersError } from "../errors.js";

/**
 * One thread, one process. A CLI run holds a lease on its thread from before it reads the thread
 * until it ends; a second process started on the same thread is refused (exit 2) with one line
 * naming the holder, before any model request. A lease a killed process leaves behind never
 * blocks the thread for long:
 * - PostgreSQL: a session-level advisory lock (`pg_try_advisory_lock` on a 64-bit hash of the
 *   thread id) on a connection held for the run; the server releases it as soon as the holder's
 *   connection closes, which the kernel does when the process dies. A small table names the holder.
 * - SQLite: a lease row in the run's SQLite file, taken in an immediate transaction. It counts as
 *   held only while its heartbeat is fresh (renewed every `heartbeatMs` by an unref'd timer) and,
 *   when the holder is on this host, while its pid is alive and not a zombie (a killed process
 *   nobody reaped); otherwise the next process takes it
 *   over. It is deleted on normal exit, on failure, and on `process.exit` (Ctrl-C in the CLI).
 */
export interface ThreadLease {
  /** Who holds the lease: `pid 123 on host`. */
  readonly holder: string;
  /**
   * Resolves while this process still holds the thread; PostgreSQL re-takes the lock after a
   * dropped connection. Throws a `ThreadLeaseLostError` when another process took the thread.
   */
  ensureHeld(): Promise<void>;
  /** Gives the thread up (idempotent; never throws). */
  release(): Promise<void>;
}

export interface ThreadLeaseOptions {
  /**
   * SQLite: how long a lease whose heartbeat has not been renewed still counts as held (default
   * 30 s). A holder on this host whose pid is gone loses its lease at once, whatever this says.
   */
  staleMs?: number;
  /** SQLite: how often the holder renews its heartbeat (default a sixth of `staleMs`). */
  heartbeatMs?: number;
  /** Who this process says it is (default the real host name and pid): for tests. */
  host?: string;
  pid?: number;
}

/** Default time after which a SQLite lease that is no longer renewed can be taken over. */
export const DEFAULT_LEASE_STALE_MS = 30_000;

/** The thread is no longer held by this process: another one took it over. */
export class ThreadLeaseLostError extends OrchestratorWorkersError {
  constructor(message: string) {
    super("ThreadLeaseLostError", message);
  }
}

function busy(threadId: string, holder: string | undefined, since: string | undefined) {
  const who = holder
    ? `another process (${holder}${since ? `, since ${since}` : ""})`
    : "another process";
  return new InvalidInputError({
    field: "thread",
    message: `Thread ${threadId} is being run by ${who}: wait for it to finish (or stop it), then run the same command again.`,
  });
}

function lost(threadId: string, holder: string | undefined) {
  return new ThreadLeaseLostError(
    `Thread ${threadId} was taken over by ${holder ? `another process (${holder})` : "another process"}; this process stopped writing to it.`,
  );
}

function describe(pid: number, host: string): string {
  return `pid ${pid} on ${host}`;
}

/**
 * Whether a process with this pid is alive on this host (EPERM: it exists, owned by someone else).
 * A killed process whose parent has not reaped it yet (a zombie: common in containers without an
 * init, where nothing reaps orphans) still answers `kill(pid, 0)`, but it holds nothing: on Linux
 * its state in /proc says so.
 */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  const state = processState(pid);
  return state !== "Z" && state !== "X";
}

/**
 * The one-letter state of process `pid` from /proc/<pid>/stat on Linux ("R", "S", "Z" for a
 * zombie, "X" dead), or undefined where there is no /proc or the process is gone.
 */
export function processState(pid: number, procRoot = "/proc"): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`${procRoot}/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // "pid (command) S ...": the command may hold spaces and parentheses, so read after the last ")".
  return /^\s*(\S)/.exec(stat.slice(stat.lastIndexOf(")") + 1))?.[1];
}

// ---------------------------------------------------------------------------------------------
// SQLite

/** The part of a better-sqlite3 database handle the lease uses (the driver ships no types). */
export interface SqliteHandle {
  exec(sql: string): unknown;
  prepare(sql: string): {
    run(...params: unknown[]): { changes: number };
    get(...params: unknown[]): unknown;
  };
  transaction<T>(fn: () => T): { immediate(): T };
}

const SQLITE_LEASES = "orchestrator_workers_thread_leases";

interface SqliteLeaseRow {
  thread_id: string;
  holder: string;
  pid: number;
  host: string;
  since: string;
  heartbeat_at: number;
}

/** Creates the SQLite lease table if it is missing (safe to run from many processes at once). */
export function setUpSqliteLeases(db: SqliteHandle): void {
  db.exec(`CREATE TABLE IF NOT EXISTS ${SQLITE_LEASES} (
  thread_id TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  pid INTEGER NOT NULL,
  host TEXT NOT NULL,
  since TEXT NOT NULL,
  heartbeat_at INTEGER NOT NULL
)`);
}

/**
 * Takes `threadId` in the SQLite file `db` (whose lease table `setUpSqliteLeases` created), or
 * throws an `InvalidInputError` naming the process that holds it.
 */
export function acquireSqliteLease(
  db: SqliteHandle,
  threadId: string,
  options: ThreadLeaseOptions = {},
): ThreadLease {
  const staleMs = options.staleMs ?? DEFAULT_LEASE_STALE_MS;
  const heartbeatMs = options.heartbeatMs ?? Math.max(20, Math.floor(staleMs / 6));
  const host = options.host ?? hostname();
  const pid = options.pid ?? process.pid;
  const token = randomUUID();

  const select = db.prepare(`SELECT * FROM ${SQLITE_LEASES} WHERE thread_id = ?`);
  const upsert = db.prepare(
    `INSERT OR REPLACE INTO ${SQLITE_LEASES} (thread_id, holder, pid, host, since, heartbeat_at) VALUES (?, ?, ?, ?, ?, ?)`,
  );
  const renew = db.prepare(
    `UPDATE ${SQLITE_LEASES} SET heartbeat_at = ? WHERE thread_id = ? AND holder = ?`,
  );
  const remove = db.prepare(`DELETE FROM ${SQLITE_LEASES} WHERE thread_id = ? AND holder = ?`);
  const current = () => select.get(threadId) as SqliteLeaseRow | undefined;

  const held = (row: SqliteLeaseRow, now: number) =>
    now - row.heartbeat_at < staleMs && (row.host !== host || pidAlive(row.pid));
  const other = db
    .transaction(() => {
      const row = current();
      const now = Date.now();
      if (row && held(row, now)) return row;
      const since = new Date(now).toISOString().replace(/\.\d+Z$/, "Z");
      upsert.run(threadId, token, pid, host, since, now);
      return undefined;
    })
    .immediate();
  if (other) throw busy(threadId, describe(other.pid, other.host), other.since);

  let takenBy: SqliteLeaseRow | undefined | null = null; // null: still ours
  let released = false;
  const check = () => {
    if (takenBy !== null) return;
    const row = current();
    if (row?.holder !== token) takenBy = row;
  };
  const timer = setInterval(() => {
    try {
      if (renew.run(Date.now(), threadId, token).changes === 0) check();
    } catch {
      // Busy or briefly unwritable: the next beat tries again, and staleness allows for a few.
    }
  }, heartbeatMs);
  timer.unref();
  const releaseNow = () => {
    if (released) return;
    released = true;
    clearInterval(timer);
    process.removeListener("exit", releaseNow);
    try {
      remove.run(threadId, token);
    } catch {
      // The file is gone or closed: the lease goes stale on its own.
    }
  };
  // `process.exit` (the CLI's Ctrl-C handler) skips `finally` blocks but runs exit listeners, and
  // better-sqlite3 is synchronous: the lease is given up even then.
  process.on("exit", releaseNow);

  return {
    holder: describe(pid, host),
    ensureHeld: () => {
      if (!released) check();
      if (takenBy !== null) {
        return Promise.reject(
          lost(threadId, takenBy ? describe(takenBy.pid, takenBy.host) : undefined),
        );
      }
      return Promise.resolve();
    },
    release: () => {
      releaseNow();
      return Promise.resolve();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

/** The part of a `pg` client the lease uses (`pg` ships no types here). */
export interface PostgresClient {
  query(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
  on(event: "error" | "end", listener: (error?: Error) => void): unknown;
  end(): Promise<void>;
}

const POSTGRES_HOLDERS = "orchestrator_workers_thread_holders";

/** SQL creating the table that names each thread's holder; run it with the store's setup. */
export const POSTGRES_HOLDERS_TABLE_SQL = `CREATE TABLE IF NOT EXISTS ${POSTGRES_HOLDERS} (
  thread_id TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  since TIMESTAMPTZ NOT NULL
)`;

/** A signed 64-bit advisory-lock key (as a decimal string) for `name`. */
export function advisoryLockKey(name: string): string {
  return createHash("sha256")
    .update(`orchestrator-workers:${name}`)
    .digest()
    .readBigInt64BE(0)
    .toString();
}

/**
 * Takes `threadId` with a session-level advisory lock on a connection `connect` opens for this
 * lease alone, or throws an `InvalidInputError` naming the process that holds it.
 */
export async function acquirePostgresLease(
  connect: () => Promise<PostgresClient>,
  threadId: string,
  options: Pick<ThreadLeaseOptions, "host" | "pid"> = {},
): Promise<ThreadLease> {
  const holder = describe(options.pid ?? process.pid, options.host ?? hostname());
  const key = advisoryLockKey(`thread:${threadId}`);
  let client: PostgresClient | undefined;
  let dropped = false;
  let released = false;
  let retaking: Promise<void> | undefined;
  let lostTo: ThreadLeaseLostError | undefined;

  /** Opens a connection and tries the lock: the name and date of the holder if it is taken. */
  const take = async (): Promise<{ holder?: string; since?: string } | undefined> => {
    const next = await connect();
    let nextDropped = false;
    const onDrop = () => {
      nextDropped = true;
      if (client !== next || dropped) return;
      dropped = true;
      // Take the lock back at once rather than at the next write, to keep the window in which
      // another process could take the thread short. A failure here is tried again by that write.
      if (!released) retake().catch(() => undefined);
    };
    next.on("error", onDrop);
    next.on("end", onDrop);
    try {
      const locked = await next.query("SELECT pg_try_advisory_lock($1::bigint) AS locked", [key]);
      if (locked.rows[0]?.locked !== true) {
        const { rows } = await next.query(
          `SELECT holder, to_char(since AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS since FROM ${POSTGRES_HOLDERS} WHERE thread_id = $1`,
          [threadId],
        );
        await next.end().catch(() => undefined);
        const row = rows[0] as { holder?: string; since?: string } | undefined;
        return { holder: row?.holder, since: row?.since };
      }
      // Only the lock holder writes this row, so whoever reads it names the holder.
      await next.query(
        `INSERT INTO ${POSTGRES_HOLDERS} (thread_id, holder, since) VALUES ($1, $2, now())
         ON CONFLICT (thread_id) DO UPDATE SET holder = EXCLUDED.holder, since = EXCLUDED.since`,
        [threadId, holder],
      );
    } catch (error) {
      await next.end().catch(() => undefined);
      throw error;
    }
    client = next;
    dropped = nextDropped;
    return undefined;
  };

  /**
   * The connection (and with it the lock) is gone: takes the lock again on a new one, unless
   * another process got the thread in between.
   */
  const retake = (): Promise<void> => {
    if (lostTo) return Promise.reject(lostTo);
    if (released || !dropped) return Promise.resolve();
    retaking ??= (async () => {
      try {
        const previous = client;
        client = undefined;
        await previous?.end().catch(() => undefined);
        const taken = await take();
        if (taken) throw (lostTo = lost(threadId, taken.holder));
        if (released) await giveUp();
      } finally {
        retaking = undefined;
      }
    })();
    return retaking;
  };

  /** Unlocks and closes the connection holding the lock, if there is one. */
  const giveUp = async () => {
    const held = client;
    client = undefined;
    if (!held) return;
    try {
      if (!dropped) {
        await held.query(`DELETE FROM ${POSTGRES_HOLDERS} WHERE thread_id = $1 AND holder = $2`, [
          threadId,
          holder,
        ]);
        await held.query("SELECT pg_advisory_unlock($1::bigint)", [key]);
      }
    } catch {
      // A lost connection released the lock already.
    } finally {
      await held.end().catch(() => undefined);
    }
  };

  const other = await take();
  if (other) throw busy(threadId, other.holder, other.since);
  return {
    holder,
    ensureHeld: retake,
    release: async () => {
      if (released) return;
      released = true;
      await retaking?.catch(() => undefined);
      await giveUp();
    },
  };
}
