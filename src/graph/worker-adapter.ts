import type { Callbacks } from "@langchain/core/callbacks/manager";
import type { Runnable } from "@langchain/core/runnables";
import { v5 as uuidv5 } from "@langchain/core/utils/uuid";
import type { LangGraphRunnableConfig } from "@langchain/langgraph";
import { InvalidInputError } from "../errors.js";
import { UsageRecorder } from "../models/usage-recorder.js";
import type { CoreSubtask, Work } from "../schemas/shape.js";

/** What a generic worker gets: the request, its subtask, the results it depends on. */
interface GivenWork {
  request: string;
  subtask: CoreSubtask;
  dependencies: { id: string; result: unknown }[];
}

/** A worker as `createOrchestratorWorkers` takes it: a function, a Runnable, or a graph. */
export type AnyWorker =
  | ((input: GivenWork, config: LangGraphRunnableConfig) => unknown)
  | Runnable<GivenWork, unknown>
  | { lg_is_pregel: boolean; invoke(input: unknown, config?: object): Promise<unknown> };

/**
 * The worker as the core calls it. Its input always has `dependencies` (empty when none); the
 * model calls it makes through LangChain are recorded for budgets and usage (see `UsageRecorder`).
 */
export function workOf(worker: AnyWorker): Work {
  const remote = isRemoteGraph(worker);
  const call = async (input: GivenWork, config: LangGraphRunnableConfig): Promise<unknown> => {
    if (typeof worker === "function") return worker(input, config);
    if ((worker as { lg_is_pregel?: unknown }).lg_is_pregel === true) {
      return (worker as { invoke(input: unknown, config?: object): Promise<unknown> })
        .invoke(input, remote ? remoteConfig(config, input) : config)
        .then(
          (output) => resultOf(output),
          (error: unknown) => {
            throw remote ? remoteFailure(error) : error;
          },
        );
    }
    return (worker as Runnable<GivenWork, unknown>).invoke(input, config);
  };
  return async (input, config, log) => {
    const subtask = input.subtask as CoreSubtask;
    const given: GivenWork = {
      request: input.request as string,
      subtask,
      dependencies: (input.dependencies as GivenWork["dependencies"] | undefined) ?? [],
    };
    const recorder = new UsageRecorder(log.calls, subtask.id);
    const result = await call(given, {
      ...config,
      callbacks: withHandler(config.callbacks, recorder),
    });
    return checkedResult(result, subtask.id);
  };
}

/** The most characters of text one result may hold; a result is checkpointed with the run. */
export const MAX_RESULT_CHARACTERS = 10_000_000;

/**
 * A worker's result as it will be stored: JSON data (plain objects, arrays, strings, finite
 * numbers, booleans, null; `undefined` is stored as null), at most `MAX_RESULT_CHARACTERS` of
 * text. Anything else would be lost or changed by the checkpointer, or break the thread's stored
 * state, so it fails the subtask here, saying where it is and what to return instead.
 */
function checkedResult(result: unknown, subtaskId: string): unknown {
  if (result === undefined) return null;
  let characters = 0;
  const seen = new Set<object>();
  const problem = (value: unknown, path: string, depth: number): string | undefined => {
    if (value === null || typeof value === "boolean") return undefined;
    if (typeof value === "string") {
      characters += value.length;
      return characters > MAX_RESULT_CHARACTERS
        ? `it holds more than ${MAX_RESULT_CHARACTERS.toLocaleString("en-US")} characters of text`
        : undefined;
    }
    if (typeof value === "number") {
      return Number.isFinite(value) ? undefined : `${path} is ${String(value)}`;
    }
    if (typeof value !== "object") return `${path} is a ${typeof value}`;
    if (depth > 100) return `${path} is nested more than 100 levels deep`;
    if (seen.has(value)) return `${path} refers back to an enclosing value (a cycle)`;
    const prototype = Object.getPrototypeOf(value) as unknown;
    if (!Array.isArray(value) && prototype !== Object.prototype && prototype !== null) {
      const kind = (value as { constructor?: { name?: string } }).constructor?.name ?? "object";
      return `${path} is a ${kind}, not a plain object`;
    }
    seen.add(value);
    const entries = Array.isArray(value)
      ? value.map((item, index) => [`${path}[${index}]`, item] as const)
      : Object.entries(value).map(([key, item]) => [`${path}.${key}`, item] as const);
    for (const [where, item] of entries) {
      if (item === undefined && !Array.isArray(value)) continue;
      const found = problem(item, where, depth + 1);
      if (found) return found;
    }
    seen.delete(value);
    return undefined;
  };
  const found = problem(result, "result", 0);
  if (found) {
    throw new InvalidInputError({
      field: `results.${subtaskId}`,
      message: `The worker's result for ${subtaskId} cannot be stored: ${found}. Return JSON data (plain objects, arrays, strings, finite numbers, booleans or null).`,
    });
  }
  return result;
}

/** A `RemoteGraph` (by its LangChain name, so this module does not load the SDK). */
function isRemoteGraph(worker: unknown): boolean {
  const type = (worker as { constructor?: { lc_name?: () => string } } | null)?.constructor;
  return typeof type?.lc_name === "function" && type.lc_name() === "RemoteGraph";
}

/** The namespace of the remote threads derived in `remoteConfig` (a fixed, random UUID). */
const REMOTE_THREAD_NAMESPACE = "5f0c7c3e-2a51-4d0e-9f38-6f7d1b8e4a21";

/**
 * The config a `RemoteGraph` worker runs with. It runs on the remote thread named by
 * `configurable.thread_id` (creating it when missing), so the orchestrator's own thread id would
 * put every subtask on one remote thread: the server rejects all but one of the runs at once
 * (HTTP 422) and each later run starts from the one before's state. Each subtask gets its own
 * remote thread instead, derived from the orchestrator's thread, the request and the subtask
 * (its id and fields): the same when a failed subtask is retried, so the worker server's thread shows every
 * attempt. Without an orchestrator thread the remote run is stateless.
 */
function remoteConfig(
  config: LangGraphRunnableConfig,
  input: { request: string; subtask: { id: string } },
): LangGraphRunnableConfig {
  const { thread_id: threadId, ...configurable } = config.configurable ?? {};
  if (typeof threadId !== "string" || threadId === "") return { ...config, configurable };
  // The subtask's fields too: another plan's `s1` on the same thread is another remote thread.
  const name = JSON.stringify([threadId, input.request, input.subtask]);
  return {
    ...config,
    configurable: { ...configurable, thread_id: uuidv5(name, REMOTE_THREAD_NAMESPACE) },
  };
}

/**
 * A remote worker's failure as the error it reports: `RemoteGraph` throws a `RemoteException`
 * whose message is the server's JSON (`{"error":"Error","message":"..."}`); the message is read
 * out of it (bounded), so `failed` says what went wrong rather than quoting JSON.
 */
function remoteFailure(error: unknown): unknown {
  if (!(error instanceof Error) || error.name !== "RemoteException") return error;
  try {
    const body = JSON.parse(error.message.slice(0, 100_000)) as {
      error?: unknown;
      message?: unknown;
    };
    if (typeof body.message !== "string") return error;
    const kind = typeof body.error === "string" && body.error !== "Error" ? `${body.error}: ` : "";
    return new Error(`The remote worker failed: ${kind}${body.message}`, { cause: error });
  } catch {
    return error;
  }
}

/** A graph worker's result: its output's `result`; an output without one is an error. */
function resultOf(output: unknown): unknown {
  if (typeof output === "object" && output !== null && "result" in output) {
    return output.result;
  }
  throw new Error(
    "The worker graph's output has no `result` key: give its state (or output schema) a `result` and set it.",
  );
}

/** The run's callbacks with one more handler, inherited by every call inside (a copy). */
function withHandler(callbacks: Callbacks | undefined, handler: UsageRecorder): Callbacks {
  if (callbacks === undefined) return [handler];
  if (Array.isArray(callbacks)) return [...callbacks, handler];
  const manager = callbacks.copy();
  manager.addHandler(handler, true);
  return manager;
}
