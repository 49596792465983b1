import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import type { BaseCheckpointSaver } from "@langchain/langgraph";
import { PostgresSaver } from "@langchain/langgraph-checkpoint-postgres";
import { SqliteSaver } from "@langchain/langgraph-checkpoint-sqlite";

/** Default SQLite file for the CLI's runs, relative to the working directory. */
export const DEFAULT_CHECKPOINT_FILE = ".orchestrator-workers/checkpoints.sqlite";

/** An open checkpointer, where it keeps runs (without credentials), and how to close it. */
export interface OpenCheckpointer {
  checkpointer: BaseCheckpointSaver;
  /** Where runs are stored, safe to print: a file path, or a PostgreSQL URL without password. */
  location: string;
  close(): Promise<void>;
}

/**
 * Opens where runs are checkpointed: PostgreSQL when `postgresUrl` is given (any process or machine
 * can then resume any thread), else an embedded SQLite file (created with its directory).
 */
export async function openCheckpointer(options: {
  postgresUrl?: string;
  sqlitePath: string;
}): Promise<OpenCheckpointer> {
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
      (saver.db as unknown as { close(): void }).close();
      return Promise.resolve();
    },
  };
}

/**
 * Wraps a checkpointer so that `onSaved` hears of each task's writes once they are stored, not
 * merely produced: what it reports as done survives a crash from then on.
 */
export function observeSavedWrites<T extends BaseCheckpointSaver>(
  checkpointer: T,
  onSaved: (writes: [string, unknown][]) => void,
): T {
  return new Proxy(checkpointer, {
    get(target, property, receiver) {
      if (property !== "putWrites") return Reflect.get(target, property, receiver) as unknown;
      return async (...args: Parameters<BaseCheckpointSaver["putWrites"]>) => {
        await target.putWrites(...args);
        onSaved(args[1]);
      };
    },
  });
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
