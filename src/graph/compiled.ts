import { IterableReadableStream } from "@langchain/core/utils/stream";
import { CompiledStateGraph, StateGraph } from "@langchain/langgraph";
import { ThreadBusyError } from "../errors.js";
import { DEFAULT_MAX_CONCURRENCY } from "../schemas/configuration.js";

/** Tag on every run of this package's graphs, so their traces are easy to find in LangSmith. */
export const TRACE_TAG = "orchestrator-workers";

/** What `stream` takes, loosely: the override below passes both through. */
type StreamInput = unknown;
type StreamOptions = {
  maxConcurrency?: number;
  context?: unknown;
  configurable?: unknown;
} & Record<string, unknown>;

// LangGraph takes the bound on tasks running at once (how many workers it starts) only from a
// run's top-level `maxConcurrency`; no public hook lets the run's configuration set it, and its
// task loop slows down with every task running at once (bench/NOTES.md). So the compiled graph is
// a subclass whose `stream` (which `invoke`, `streamEvents` and the dev server all go through)
// defaults it to the configured `maxConcurrency`; LangGraph's own `withConfig` copies keep the
// class. Pinned by tests/unit/graph.test.ts ("sections written at once are bounded...").
// The base is typed loosely here because `stream`'s generic overloads cannot be restated in an
// override; the builders give the instance back its full compiled-graph type.
const CompiledBase = CompiledStateGraph as unknown as new (fields: object) => {
  name?: string;
  stream(input: StreamInput, options?: StreamOptions): Promise<unknown>;
};

/** A compiled graph whose runs bound their tasks by the configured `maxConcurrency`. */
export class TaskBoundGraph extends CompiledBase {
  declare config?: {
    configurable?: Record<string, unknown>;
    context?: unknown;
    recursionLimit?: number;
  };

  declare checkpointer?: unknown;

  override async stream(input: StreamInput, options?: StreamOptions): Promise<unknown> {
    const configurable = { ...this.config?.configurable, ...(options?.configurable as object) };
    // Taken before the run reads its thread, so a second run is refused before any node runs.
    const release = await claimThread(
      this.checkpointer,
      configurable,
      options?.signal as AbortSignal | undefined,
    );
    try {
      // A bound set with `withConfig` counts when the run's own options set none.
      const bound = withTaskBound({
        ...options,
        configurable,
        context: options?.context ?? this.config?.context,
      });
      const run = await super.stream(input, {
        ...options,
        maxConcurrency: bound.maxConcurrency,
        recursionLimit:
          options?.recursionLimit ?? this.config?.recursionLimit ?? DEFAULT_RECURSION_LIMIT,
      });
      return release ? new ReleasingRunStream(run as RunStream, release) : run;
    } catch (error) {
      release?.();
      throw error;
    }
  }
}

/** A run holding its thread: whether it was asked to stop, and when it has given the thread up. */
interface Holder {
  signal?: AbortSignal;
  released: Promise<void>;
}

/** The threads running in this process, per checkpointer: `checkpoint_ns` + NUL + `thread_id`. */
const runningThreads = new WeakMap<object, Map<string, Holder>>();

/**
 * How long a new run waits for a run on its thread that was asked to stop (aborted) to give the
 * thread up, before it is refused. The Agent Server's `interrupt` and `rollback` multitask
 * strategies abort the running run and start the new one; the aborted run is unwinding, not
 * running on, so the new one waits for it instead of failing.
 */
const ABORTED_HOLDER_WAIT_MS = 30_000;

/**
 * Marks the run's thread as running for its checkpointer, or throws a `ThreadBusyError` if a run
 * is on it already. LangGraph itself lets two runs on one thread both run: both are paid for and
 * the last one's checkpoints overwrite the other's. The CLI holds a lease across processes
 * (src/cli/thread-lease.ts); this is the same rule within one process, for every user of the
 * library. A run on the thread that was aborted is waited for (up to `ABORTED_HOLDER_WAIT_MS`)
 * rather than refused. Runs without a checkpointer or a `thread_id` are not tracked (nothing is
 * shared). A subgraph run on the parent's thread has its own `checkpoint_ns`, so it is not refused.
 * Returns the function that gives the thread up (once), or undefined when nothing was taken.
 */
async function claimThread(
  checkpointer: unknown,
  configurable: Record<string, unknown>,
  signal?: AbortSignal,
): Promise<(() => void) | undefined> {
  const threadId: unknown = configurable.thread_id;
  if (typeof checkpointer !== "object" || checkpointer === null) return undefined;
  if (typeof threadId !== "string" && typeof threadId !== "number") return undefined;
  const namespace: unknown = configurable.checkpoint_ns;
  const checkpointNamespace = typeof namespace === "string" ? namespace : "";
  const key = `${checkpointNamespace}\u0000${threadId}`;
  let running = runningThreads.get(checkpointer);
  if (!running) runningThreads.set(checkpointer, (running = new Map<string, Holder>()));
  const deadline = Date.now() + ABORTED_HOLDER_WAIT_MS;
  for (let holder = running.get(key); holder; holder = running.get(key)) {
    const wait = deadline - Date.now();
    if (!holder.signal?.aborted || wait <= 0) {
      throw new ThreadBusyError({ threadId: String(threadId), checkpointNamespace });
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      holder.released,
      new Promise<void>((resolve) => (timer = setTimeout(resolve, wait))),
    ]);
    clearTimeout(timer);
  }
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const holder: Holder = { signal, released };
  running.set(key, holder);
  const held = running;
  let done = false;
  return () => {
    if (done) return;
    done = true;
    if (held.get(key) === holder) held.delete(key);
    release();
  };
}

/** LangGraph's run stream: readable, iterable, and cancellable while a reader holds it. */
type RunStream = IterableReadableStream<unknown> & { readonly signal?: AbortSignal };

/**
 * The run's stream, giving the thread up once the run is over: finished, failed or cancelled (a
 * consumer that breaks out of `for await` cancels the stream, which aborts the run). It reads the
 * run eagerly, as LangGraph's own stream does, so the thread is given up when the run ends even if
 * nobody reads to the end. `cancel()` and `signal` work as on LangGraph's stream.
 */
class ReleasingRunStream extends IterableReadableStream<unknown> {
  private readonly run: RunStream;
  private readonly stopRun: (reason: unknown) => Promise<void>;

  constructor(run: RunStream, release: () => void) {
    const reader = run.getReader();
    let cancelled = false; // this stream was cancelled: its controller takes nothing more
    const stopRun = async (reason: unknown) => {
      try {
        await reader.cancel(reason);
      } finally {
        release();
      }
    };
    super({
      start(controller) {
        void (async () => {
          try {
            for (;;) {
              const { done, value } = await reader.read();
              if (done || cancelled) break;
              controller.enqueue(value);
            }
            release();
            if (!cancelled) controller.close();
          } catch (error) {
            release();
            if (!cancelled) controller.error(error);
          }
        })();
      },
      cancel(reason) {
        cancelled = true;
        return stopRun(reason);
      },
    });
    this.run = run;
    this.stopRun = stopRun;
  }

  /** Aborted when the run is cancelled (LangGraph's stream's own signal). */
  get signal(): AbortSignal | undefined {
    return this.run.signal;
  }

  // LangGraph's stream can be cancelled while it is being read (it aborts the run), which a plain
  // ReadableStream refuses; the run's end then closes this stream for whoever is reading it.
  override cancel(reason?: unknown): Promise<void> {
    return this.stopRun(reason);
  }
}

/**
 * The steps a run may take when its caller sets no `recursionLimit`. A run takes two steps a wave
 * of workers (the workers, then dispatch), and a plan of thousands, a budget or a chain of
 * dependencies is sent in many waves, so LangGraph's default of 25 would end a run that is going as
 * planned. Every loop of this graph ends on its own (rounds, waves and revisions are bounded, plan
 * review waits for a person), so the limit is a backstop, high by default; a caller's own wins.
 */
export const DEFAULT_RECURSION_LIMIT = 10_000;

/**
 * LangGraph's task loop stops a step after its first task when it may run only one at a time (its
 * loop ends once no task is running, before starting the rest: bench/NOTES.md §8), so the task
 * bound is never below 2. With `maxConcurrency: 1` the model clients still send one request at a
 * time.
 */
const MIN_TASK_BOUND = 2;

/** The run's options with LangGraph's `maxConcurrency` defaulted to the configured one. */
export function withTaskBound<T>(options: T): T {
  const given = options as StreamOptions | undefined;
  const configured =
    given?.maxConcurrency ??
    (given?.context as { maxConcurrency?: unknown } | undefined)?.maxConcurrency ??
    (given?.configurable as { maxConcurrency?: unknown } | undefined)?.maxConcurrency;
  const bound =
    typeof configured === "number" && Number.isInteger(configured) && configured > 0
      ? configured
      : DEFAULT_MAX_CONCURRENCY;
  return { ...given, maxConcurrency: Math.max(MIN_TASK_BOUND, bound) } as T;
}

const StateGraphBase = StateGraph as unknown as new (...fields: unknown[]) => {
  compile(options?: object): { name?: string; withConfig(config: object): object };
};

/**
 * The builder of this package's graphs: a `StateGraph` whose `compile` gives a `TaskBoundGraph`
 * (tagged `TRACE_TAG`), so a graph compiled by its user, with their own checkpointer, bounds its
 * workers as the package's own compiled graphs do. Made with `new (TaskBoundStateGraph as typeof
 * StateGraph)(...)` so LangGraph's types infer the state as for any `StateGraph`.
 */
export class TaskBoundStateGraph extends StateGraphBase {
  /** The compiled graph's name when `compile` is given none (traces, streams). */
  graphName?: string;

  override compile(options?: { name?: string } & object) {
    const compiled = super
      .compile({ ...options, name: options?.name ?? this.graphName })
      .withConfig({ tags: [TRACE_TAG] });
    const bound = new TaskBoundGraph({ ...compiled });
    bound.name = (compiled as { name?: string }).name;
    return bound as unknown as ReturnType<InstanceType<typeof StateGraphBase>["compile"]>;
  }
}
