import type { RunnableConfig } from "@langchain/core/runnables";
import { WRITES_IDX_MAP, type PendingWrite } from "@langchain/langgraph-checkpoint";
import type { PostgresSaver } from "@langchain/langgraph-checkpoint-postgres";

/** The part of a `pg` pool a statement needs. */
export interface PgQueryable {
  query(sql: string, values?: unknown[]): Promise<unknown>;
}

const COLUMNS = "thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, blob";
const KEY = "thread_id, checkpoint_ns, checkpoint_id, task_id, idx";
/** Rows per statement: PostgreSQL takes at most 65,535 parameters, 8 a row. */
const MAX_ROWS = 1_000;

type Row = unknown[];
interface Pending {
  rows: Row[];
  /** Writes to LangGraph's special channels (error, interrupt, resume): replace the earlier one. */
  special: boolean;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * The saver the run store keeps runs in on PostgreSQL. `PostgresSaver.putWrites` stores each task's
 * writes in a transaction of its own: BEGIN, one INSERT per write, COMMIT, five round trips for a
 * section's three state keys, which made PostgreSQL cost more than the whole graph at 1,000
 * sections (bench/NOTES.md §9). This subclass stores the writes of all the tasks that finish while
 * a statement is on its way in the next one: one multi-row INSERT, atomic by itself, so a task's
 * writes are stored all or none, as before. Each `putWrites` resolves once its rows are stored.
 * The rows are the saver's own (`_dumpWrites`), in its own table, with its own conflict rules (a
 * special channel's write replaces the task's earlier one; any other keeps the first), so the saver
 * reads them back unchanged. When a statement fails, its tasks are stored one statement each, so a
 * write that cannot be stored fails only its own task. tests/integration/postgres-writes.test.ts
 * pins all of that against a real server.
 */
export function withOneStatementWrites(
  Saver: typeof PostgresSaver,
  pool: PgQueryable,
  schema = "public",
): typeof PostgresSaver {
  const table = `"${schema.replace(/"/g, '""')}".checkpoint_writes`;
  const insert = (rows: Row[], special: boolean) => {
    const width = rows[0]!.length;
    const values = rows
      .map(
        (row, index) => `(${row.map((_, column) => `$${index * width + column + 1}`).join(", ")})`,
      )
      .join(", ");
    return pool.query(
      `INSERT INTO ${table} (${COLUMNS}) VALUES ${values} ON CONFLICT (${KEY}) DO ${
        special
          ? "UPDATE SET channel = EXCLUDED.channel, type = EXCLUDED.type, blob = EXCLUDED.blob"
          : "NOTHING"
      }`,
      rows.flat(),
    );
  };
  /**
   * One statement for `batch` (all special or none). A statement may not update a row twice, so of
   * special rows with the same key (thread, namespace, checkpoint, task, index: two threads
   * resuming at once both write for LangGraph's all-zero task id) the last is kept.
   */
  const store = async (batch: Pending[], special: boolean) => {
    const rows = batch.flatMap((pending) => pending.rows);
    const key = (row: Row) => row.slice(0, 5).map(String).join("\0");
    const unique = special ? [...new Map(rows.map((row) => [key(row), row])).values()] : rows;
    await insert(unique, special);
  };

  return class OneStatementWrites extends Saver {
    private readonly queued: Pending[] = [];
    private flushing = false;

    override async putWrites(
      config: RunnableConfig,
      writes: PendingWrite[],
      taskId: string,
    ): Promise<void> {
      if (writes.length === 0) return;
      // More rows than one statement may carry (a node that sends thousands of tasks): the
      // saver's own transaction, which keeps them all or none.
      if (writes.length > MAX_ROWS) return super.putWrites(config, writes, taskId);
      const rows = await this._dumpWrites(
        config.configurable?.thread_id as string,
        config.configurable?.checkpoint_ns as string,
        config.configurable?.checkpoint_id as string,
        taskId,
        writes,
      );
      const special = writes.every(([channel]) => channel in WRITES_IDX_MAP);
      await new Promise<void>((resolve, reject) => {
        this.queued.push({ rows, special, resolve, reject });
        if (!this.flushing) void this.flush();
      });
    }

    private async flush(): Promise<void> {
      this.flushing = true;
      try {
        while (this.queued.length > 0) {
          const batch: Pending[] = [];
          let rows = 0;
          while (this.queued.length > 0 && rows + this.queued[0]!.rows.length <= MAX_ROWS) {
            const next = this.queued.shift()!;
            rows += next.rows.length;
            batch.push(next);
          }
          await Promise.all(
            [true, false].map(async (special) => {
              const group = batch.filter((pending) => pending.special === special);
              if (group.length === 0) return;
              try {
                await store(group, special);
                for (const pending of group) pending.resolve();
              } catch (error) {
                if (group.length === 1) return group[0]!.reject(error);
                // Which task's write failed is not known: each alone, so only that one fails.
                await Promise.all(
                  group.map((pending) =>
                    store([pending], special).then(pending.resolve, pending.reject),
                  ),
                );
              }
            }),
          );
        }
      } finally {
        this.flushing = false;
      }
    }
  };
}
