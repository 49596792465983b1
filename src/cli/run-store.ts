import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import type { RunnableConfig } from "@langchain/core/runnables";
import {
  BaseCheckpointSaver,
  type ChannelVersions,
  type Checkpoint,
  type CheckpointListOptions,
  type CheckpointMetadata,
  type CheckpointTuple,
  type PendingWrite,
} from "@langchain/langgraph-checkpoint";
import { PostgresSaver } from "@langchain/langgraph-checkpoint-postgres";
import { SqliteSaver } from "@langchain/langgraph-checkpoint-sqlite";

/** Default SQLite file for the CLI's runs, relative to the working directory. */
export const DEFAULT_CHECKPOINT_FILE = ".orchestrator-workers/checkpoints.sqlite";

/** An open run store: its checkpointer, where it keeps runs (without credentials), how to close it. */
export interface RunStore {
  checkpointer: BaseCheckpointSaver;
  /** Where runs are stored, safe to print: a file path, or a PostgreSQL URL without password. */
  location: string;
  close(): Promise<void>;
}

/**
 * Opens where the CLI's runs are checkpointed: PostgreSQL when `postgresUrl` is given (any process
 * or machine can then resume any thread), else an embedded SQLite file (created with its folder).
 */
export async function openRunStore(options: {
  postgresUrl?: string;
  sqlitePath: string;
}): Promise<RunStore> {
  if (options.postgresUrl) {
    const saver = PostgresSaver.fromConnString(options.postgresUrl);
    await saver.setup();
    return {
      checkpointer: saver,
      location: withoutPassword(options.postgresUrl),
      close: () => saver.end(),
    };
  }
  await mkdir(dirname(options.sqlitePath), { recursive: true });
  const saver = SqliteSaver.fromConnString(options.sqlitePath);
  return {
    checkpointer: saver,
    location: options.sqlitePath,
    close: () => {
      // better-sqlite3 ships no types of its own; its handle's `close` is all this needs.
      (saver.db as unknown as { close(): void }).close();
      return Promise.resolve();
    },
  };
}

/**
 * A checkpointer that tells `onSaved` of each task's writes once they are stored, not merely
 * produced: what the CLI reports as done survives a crash from then on. It implements LangGraph's
 * checkpointer interface by handing every call to the store it wraps.
 */
export class ObservedCheckpointer extends BaseCheckpointSaver {
  constructor(
    private readonly inner: BaseCheckpointSaver,
    private readonly onSaved: (writes: PendingWrite[]) => void,
  ) {
    super(inner.serde);
  }

  getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
    return this.inner.getTuple(config);
  }

  list(config: RunnableConfig, options?: CheckpointListOptions): AsyncGenerator<CheckpointTuple> {
    return this.inner.list(config, options);
  }

  put(
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    newVersions: ChannelVersions,
  ): Promise<RunnableConfig> {
    return this.inner.put(config, checkpoint, metadata, newVersions);
  }

  async putWrites(
    config: RunnableConfig,
    writes: PendingWrite[],
    taskId: string,
    taskPath?: string,
  ): Promise<void> {
    await this.inner.putWrites(config, writes, taskId, taskPath);
    this.onSaved(writes);
  }

  deleteThread(threadId: string): Promise<void> {
    return this.inner.deleteThread(threadId);
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
