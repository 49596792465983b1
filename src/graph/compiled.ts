import { CompiledStateGraph, StateGraph } from "@langchain/langgraph";
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

  override async stream(input: StreamInput, options?: StreamOptions): Promise<unknown> {
    // A bound set with `withConfig` counts when the run's own options set none.
    const bound = withTaskBound({
      ...options,
      configurable: { ...this.config?.configurable, ...(options?.configurable as object) },
      context: options?.context ?? this.config?.context,
    });
    return super.stream(input, {
      ...options,
      maxConcurrency: bound.maxConcurrency,
      recursionLimit:
        options?.recursionLimit ?? this.config?.recursionLimit ?? DEFAULT_RECURSION_LIMIT,
    });
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
