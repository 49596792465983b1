import { getMaxListeners, setMaxListeners } from "node:events";
import { RunnableLambda, mergeConfigs } from "@langchain/core/runnables";
import {
  isGraphBubbleUp,
  isGraphInterrupt,
  type LangGraphRunnableConfig,
} from "@langchain/langgraph";
import { FailFastError, redactValue, shortMessage } from "../errors.js";
import { runConfiguration, type Configuration } from "../schemas/configuration.js";
import { emitProgress } from "../schemas/events.js";
import {
  writeUpdate,
  type CoreSubtask,
  type StateShape,
  type Work,
  type WorkLog,
  type WorkSteps,
} from "../schemas/shape.js";

/**
 * Creates the worker node, the core's wrapper around one subtask's work:
 * 1. receives only the request and its own subtask (through `Send`), and the results of the
 *    subtasks it depends on, never the whole state;
 * 2. runs `work` in a child run named after the subtask, with its id, name and role in the run's
 *    metadata and a `<noun>:<id>` tag, so each subtask reads as its own run in a trace;
 * 3. announces it (`section_started`, then `section_completed` or `section_failed`);
 * 4. appends the shape's result entry to the results key, and the calls and warnings `work`
 *    logged;
 * 5. when `work` throws (after its model client's own retries), records the shape's failed entry
 *    with the error's message (secrets redacted) and the calls it paid for, and lets the other
 *    subtasks finish, unless `failFast` is configured. Interrupts, cancellation and fail-fast runs
 *    still propagate.
 */
export function createWorkerNode(options: {
  shape: StateShape;
  work: Work;
  /** Removes every configured secret from a text before it is stored or shown. */
  redact?: (text: string) => string;
  /** What `section_completed` says of a result, beside its id and name. */
  describe?: (result: unknown) => { characters?: number };
  /**
   * The work as a runnable of its own for this run's configuration (the report's section steps
   * with `sectionReview`), run as the subtask's named run; `work` when it gives none.
   */
  steps?: (configuration: Configuration) => WorkSteps | undefined;
}) {
  const { shape, work, redact = String, describe = () => ({}) } = options;
  const noun = shape.noun;
  // What the completed event adds is never worth failing a finished, paid subtask for.
  const described = (result: unknown) => {
    try {
      return describe(result);
    } catch {
      return {};
    }
  };
  return async function worker(
    input: Record<string, unknown>,
    config: LangGraphRunnableConfig,
  ): Promise<Record<string, unknown>> {
    const subtask = input[shape.keys.subtask] as CoreSubtask;
    const configuration = runConfiguration(config);
    allowListenersPerTask(config.signal, configuration.maxConcurrency);
    const log: WorkLog = {
      calls: [],
      warnings: [],
      // A work's events may quote a model (a reviewer's feedback): redacted as the state is.
      emit: (event) => emitProgress(config, redactValue(event, redact)),
      config,
    };
    const name = shape.label(subtask);
    const role = typeof subtask.role === "string" ? subtask.role : undefined;
    emitProgress(config, {
      type: "section_started",
      id: subtask.id,
      name,
      ...(role ? { role } : {}),
    });
    const run = {
      runName: name,
      metadata: {
        [`${noun}_id`]: subtask.id,
        [`${noun}_name`]: name,
        ...(role ? { role } : {}),
      },
      tags: [`${noun}:${subtask.id}`],
    };
    const steps = options.steps?.(configuration);
    try {
      const result = steps
        ? steps.result(await steps.runnable.withConfig(run).invoke(steps.input(input, log), config))
        : observed(config)
          ? await RunnableLambda.from(
              (given: Record<string, unknown>, childConfig: LangGraphRunnableConfig) =>
                work(given, childConfig, log),
            )
              .withConfig(run)
              .invoke(input, config)
          : await work(
              input,
              mergeConfigs(config, { tags: run.tags, metadata: run.metadata }),
              log,
            );
      emitProgress(config, {
        type: "section_completed",
        id: subtask.id,
        name,
        ...described(result),
      });
      // No write for an empty list: each key written is a row per subtask in a checkpointer.
      return writeUpdate(shape, {
        results: [shape.resultEntry(subtask, result)],
        modelCalls: log.calls,
        ...(log.warnings.length ? { warnings: log.warnings } : {}),
      });
    } catch (caught) {
      // The section steps keep no checkpoints of their own, so a pause inside them could never be
      // resumed (each resume would start the subtask again): it fails the subtask, saying why.
      const error =
        steps && isGraphInterrupt(caught)
          ? new Error(
              `A tool asked for human input (interrupt) inside ${noun} ${subtask.id}'s steps, which cannot pause: run it without them (sectionReview off).`,
            )
          : caught;
      if (isGraphBubbleUp(error) || config.signal?.aborted) throw error;
      const message = failureMessage(error, redact);
      if (configuration.failFast) throw new FailFastError(message, subtask.id);
      emitProgress(config, { type: "section_failed", id: subtask.id, name, error: message });
      return writeUpdate(shape, {
        failed: [shape.failedEntry(subtask, message)],
        modelCalls: log.calls,
        warnings: log.warnings,
      });
    }
  };
}

/**
 * True when a callback handler (a tracer, `streamEvents`, the `messages` stream mode, a caller's
 * own) would see the subtask's child run. With none, the child run is seen by nobody, and each
 * runnable layer costs LangChain core a `RunTree` it never sends (bench/upstream/), so the work is
 * called with the child run's tags and metadata merged into the config instead: what the work and
 * its model calls read from the config is the same.
 */
function observed(config: LangGraphRunnableConfig): boolean {
  const callbacks = config.callbacks as { handlers?: unknown[] } | unknown[] | undefined;
  if (callbacks === undefined) return false;
  return Array.isArray(callbacks) ? callbacks.length > 0 : (callbacks.handlers?.length ?? 1) > 0;
}

/**
 * Every running worker (its child run and its model calls) listens for the run's cancellation on
 * the one signal LangGraph gives all tasks of a run, so a run with more than a few subtasks passes
 * Node's default of 10 listeners and prints a false "possible memory leak" warning. The listeners
 * are bounded by the tasks running at once; Node's `setMaxListeners` is the documented way to say
 * so for an EventTarget. Pinned by tests/integration/secrets-and-limits.test.ts.
 */
function allowListenersPerTask(signal: AbortSignal | undefined, maxConcurrency: number): void {
  if (!signal) return;
  const wanted = 4 * Math.max(maxConcurrency, 2) + 10;
  if (getMaxListeners(signal) < wanted) setMaxListeners(wanted, signal);
}

/**
 * A failure as one line for the state, an event or a terminal: the whole message redacted first
 * (so no cut can leave a secret's prefix), then control characters (terminal escapes included)
 * made spaces, then shortened.
 */
function failureMessage(error: unknown, redact: (text: string) => string): string {
  const whole = redact(shortMessage(error, { maxLength: 100_000 }));
  // eslint-disable-next-line no-control-regex
  const plain = whole.replace(/\u001b\[[0-?]*[ -/]*[@-~]?|[\p{Cc}\u2028\u2029]/gu, " ");
  return shortMessage(plain, { withName: false });
}
