import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { HumanMessage, SystemMessage } from "@langchain/core/messages";
import type { Runnable } from "@langchain/core/runnables";
import type { Callbacks } from "@langchain/core/callbacks/manager";
import { v5 as uuidv5 } from "@langchain/core/utils/uuid";
import {
  END,
  START,
  StateGraph,
  type ExtractStateType,
  type ExtractUpdateType,
  type LangGraphRunnableConfig,
} from "@langchain/langgraph";
import { z } from "zod";
import { readEnvironment, secretsOf } from "../env.js";
import { InvalidInputError, redact } from "../errors.js";
import { planWithModel } from "../models/planner.js";
import { askStructured } from "../models/structured-output.js";
import { UsageRecorder } from "../models/usage-recorder.js";
import { createDispatchNode, DISPATCH_DESTINATIONS } from "../nodes/dispatch.js";
import { createOrchestratorNode } from "../nodes/orchestrator.js";
import { createReplannerNode } from "../nodes/replanner.js";
import { createReviewPlanNode } from "../nodes/review.js";
import { createSynthesizeNode, type SynthesisInput } from "../nodes/synthesize.js";
import { createWorkerNode } from "../nodes/worker.js";
import { ConfigurationSchema, type Configuration } from "../schemas/configuration.js";
import { SUBTASK_PLANNER_SYSTEM_PROMPT, subtaskPlannerUserPrompt } from "../schemas/prompts.js";
import type {
  CoreSubtask,
  Planner,
  Replanner,
  StateShape,
  Work,
  WorkSteps,
} from "../schemas/shape.js";
import {
  checkSubtasks,
  orchestratorWorkersSchemas,
  subtaskShape,
  type SubtaskFields,
} from "../schemas/subtasks.js";
import { TaskBoundStateGraph } from "./compiled.js";

/** A planned subtask as a worker gets it: the schema's fields, its id and what it waits for. */
export type PlannedSubtask<S extends SubtaskFields> = z.output<S> & {
  id: string;
  dependsOn?: string[];
};

/** A subtask as a planner function or a ready-made plan gives it: id and dependsOn optional. */
export type GivenSubtask<S extends SubtaskFields> = z.input<S> & {
  id?: string;
  dependsOn?: (string | number)[];
};

/** What a worker gets for its subtask: the request, the subtask, the results it depends on. */
export interface WorkerInput<S extends SubtaskFields, Result = unknown> {
  request: string;
  subtask: PlannedSubtask<S>;
  /** The results of the subtasks in `dependsOn`, finished before this one started. */
  dependencies: { id: string; result: Result }[];
}

/** A planner function: the request (and, after a review, the feedback) in, subtasks out. */
export type PlannerFunction<S extends SubtaskFields> = (
  input: {
    request: string;
    /** After a reviewer sent the plan back: the plan they saw and what they asked for. */
    review?: { previousPlan: PlannedSubtask<S>[]; feedback: string };
  },
  config: LangGraphRunnableConfig,
) => GivenSubtask<S>[] | Promise<GivenSubtask<S>[]>;

/** A later planning round as a function: what was planned and done in, subtasks to add out. */
export type ReplanFunction<S extends SubtaskFields, Result = unknown> = (
  input: {
    request: string;
    round: number;
    /** How many subtasks may still be added. */
    room: number;
    plan: PlannedSubtask<S>[];
    results: { id: string; result: Result }[];
  },
  config: LangGraphRunnableConfig,
) => GivenSubtask<S>[] | Promise<GivenSubtask<S>[]>;

/**
 * A worker function: one subtask in, its result out (JSON data, to be checkpointed). Its input's
 * dependency results are typed `unknown`: a parameter that named `Result` would stop TypeScript
 * from inferring `Result` from what the function returns.
 */
export type WorkerFunction<S extends SubtaskFields, Result = unknown> = (
  input: WorkerInput<S, unknown>,
  config: LangGraphRunnableConfig,
) => Result | Promise<Result>;

/**
 * A worker: a function, any Runnable (its output is the result), or a compiled graph or
 * `RemoteGraph` (its input gets `{ request, subtask, dependencies }`, its output's `result` is the
 * result).
 */
export type Worker<S extends SubtaskFields, Result = unknown> =
  | WorkerFunction<S, Result>
  | Runnable<WorkerInput<S, Result>, Result>
  | { lg_is_pregel: boolean; invoke(input: unknown, config?: object): Promise<unknown> };

/** Options of `createOrchestratorWorkers`. */
export interface OrchestratorWorkersOptions<
  S extends SubtaskFields,
  Result = unknown,
  Output = Result[],
> {
  /** The graph's name in traces and streams; defaults to "orchestrator-workers". */
  name?: string;
  /** A subtask's own fields, as a zod object; ids and dependencies are added. */
  subtask: S;
  /**
   * Plans the request: a chat model (asked for `{ subtasks: [...] }` through structured output,
   * again on unusable answers, up to `maxPlanAttempts`), or a function returning the subtasks.
   */
  planner: BaseChatModel | PlannerFunction<S>;
  /** Does one subtask. A worker that throws is recorded in `failed`; the others finish. */
  worker: Worker<S, Result>;
  /** Assembles the output from the results in plan order; defaults to the list of results. */
  synthesize?: (
    input: SynthesisInput<PlannedSubtask<S>, NoInfer<Result>>,
    config: LangGraphRunnableConfig,
  ) => Output | Promise<Output>;
  /**
   * Later planning rounds (`maxPlanningRounds` > 1): a function proposing subtasks to add. A
   * chat-model planner is asked by default; a function planner plans one round unless given this.
   */
  replan?: ReplanFunction<S, NoInfer<Result>>;
  /**
   * System prompt of a chat-model planner; defaults to `SUBTASK_PLANNER_SYSTEM_PROMPT`. A function
   * is called at each planning call, so the prompt can say what is there now (a folder's files).
   */
  plannerPrompt?:
    | string
    | ((input: { request: string }, config: LangGraphRunnableConfig) => string | Promise<string>);
  /** Secrets to redact from every failure message; defaults to the environment's. */
  secrets?: string[];
}

/**
 * Creates an uncompiled orchestrator-workers graph for any task: orchestrator (plans the request
 * into subtasks with stable ids) → dispatch → (review_plan) → one `Send` per subtask → worker →
 * dispatch → (replanner → dispatch) → synthesizer. Dependencies, failure isolation, resuming only
 * what is missing, plan review, later planning rounds, token budgets, bounded concurrency,
 * progress events and one trace run per subtask come from the same core as the report graph's.
 * Compile it with your checkpointer: `createOrchestratorWorkers({...}).compile({ checkpointer })`.
 */
export function createOrchestratorWorkers<
  S extends SubtaskFields,
  Result = unknown,
  Output = Result[],
>(options: OrchestratorWorkersOptions<S, Result, Output>) {
  checkOptions(options);
  const schemas = orchestratorWorkersSchemas<S["shape"], Result, Output>(options.subtask);
  const shape = subtaskShape(schemas.GivenSubtask);
  const secrets = () => options.secrets ?? secretsOf(readEnvironment());
  return assembleOrchestratorWorkers({
    schemas,
    shape,
    plan: plannerOf(options, schemas),
    replan: replannerOf(options, schemas),
    work: workOf(options.worker),
    synthesizer: createSynthesizeNode({
      shape,
      synthesize: options.synthesize as Parameters<typeof createSynthesizeNode>[0]["synthesize"],
    }),
    redact: (text) => redact(text, secrets()),
    name: options.name ?? DEFAULT_GRAPH_NAME,
  });
}

/** The generic graph's name in traces and streams when `name` is not given. */
export const DEFAULT_GRAPH_NAME = "orchestrator-workers";

/** The options checked when the graph is built, so a mistake is named before any run. */
function checkOptions(options: { subtask?: unknown; planner?: unknown; worker?: unknown }): void {
  const problem = (field: string, message: string) => new InvalidInputError({ field, message });
  if (!options || typeof options !== "object") {
    throw problem("options", "createOrchestratorWorkers needs { subtask, planner, worker }.");
  }
  const subtask = options.subtask as { shape?: unknown; extend?: unknown } | undefined;
  if (!subtask || typeof subtask.extend !== "function" || typeof subtask.shape !== "object") {
    throw problem(
      "subtask",
      "subtask must be a zod object of a subtask's own fields, such as z.object({ path: z.string(), change: z.string() }).",
    );
  }
  const planner = options.planner as
    { invoke?: unknown; withStructuredOutput?: unknown } | undefined;
  if (
    typeof planner !== "function" &&
    (typeof planner?.invoke !== "function" || typeof planner.withStructuredOutput !== "function")
  ) {
    throw problem(
      "planner",
      "planner must be a chat model (with structured output) or a function ({ request }, config) => subtasks.",
    );
  }
  const worker = options.worker as { invoke?: unknown } | undefined;
  if (typeof worker !== "function" && typeof worker?.invoke !== "function") {
    throw problem(
      "worker",
      "worker must be a function ({ request, subtask, dependencies }, config) => result, a Runnable, or a compiled graph.",
    );
  }
}

/** The planner as the core calls it: a chat model through structured output, or the function. */
function plannerOf<S extends SubtaskFields, Result, Output>(
  options: OrchestratorWorkersOptions<S, Result, Output>,
  schemas: { GivenSubtask: SubtaskFields },
): Planner {
  const withIds = (items: unknown[], field: string) =>
    checkSubtasks(items, schemas.GivenSubtask, field);
  const { planner } = options;
  if (typeof planner === "function") {
    return async ({ request, review, configuration, warnings }, config) => {
      const given = await planner(
        {
          request,
          ...(review
            ? {
                review: {
                  previousPlan: review.previousPlan as PlannedSubtask<S>[],
                  feedback: review.feedback,
                },
              }
            : {}),
        },
        config,
      );
      if (!Array.isArray(given) || given.length === 0) {
        throw new InvalidInputError({
          field: "planner",
          message: "The planner function returned no subtasks: return a list of at least one.",
        });
      }
      return { subtasks: withIds(cut(given, configuration, warnings), "plan.subtasks"), calls: [] };
    };
  }
  const answer = planAnswerSchema(schemas);
  return async ({ request, review, configuration, warnings }, config) =>
    planWithModel({
      model: planner,
      schema: answer,
      listKey: "subtasks",
      messages: [
        new SystemMessage(await systemPrompt(options, request, config)),
        new HumanMessage(
          subtaskPlannerUserPrompt({ request, maxSubtasks: configuration.maxSections, review }),
        ),
      ],
      configuration,
      withIds,
      noun: "subtask",
      warnings,
    });
}

/** A chat-model planner's answer: `{ subtasks: [...] }`, each with its fields and `dependsOn`. */
function planAnswerSchema(schemas: { GivenSubtask: SubtaskFields }) {
  const item = schemas.GivenSubtask.omit({ id: true, dependsOn: true });
  return z.object({
    subtasks: z
      .array(
        item.extend({
          dependsOn: z
            .array(z.string())
            .default([])
            .describe(
              "Ids of the subtasks whose results this one needs (s1 for the first listed, ...); empty when it stands alone.",
            ),
        }),
      )
      .describe("The subtasks, in the order their results should be read."),
  });
}

/** A plan cut to `maxSections`, with a warning. */
function cut<T>(items: T[], configuration: Configuration, warnings: string[]): T[] {
  if (items.length <= configuration.maxSections) return items;
  warnings.push(
    `The planner proposed ${items.length} subtasks; kept the first ${configuration.maxSections} (maxSections).`,
  );
  return items.slice(0, configuration.maxSections);
}

/** Later planning rounds: the `replan` function, a chat-model planner, or none. */
function replannerOf<S extends SubtaskFields, Result, Output>(
  options: OrchestratorWorkersOptions<S, Result, Output>,
  schemas: { GivenSubtask: SubtaskFields },
): Replanner {
  const { planner, replan } = options;
  if (replan) {
    return async ({ request, round, room, plan, results }, config) => ({
      proposed: await replan(
        {
          request,
          round,
          room,
          plan: plan.subtasks as PlannedSubtask<S>[],
          results: results as { id: string; result: Result }[],
        },
        config,
      ),
      calls: [],
    });
  }
  if (typeof planner === "function") return () => Promise.resolve({ proposed: [], calls: [] });
  const answer = planAnswerSchema(schemas);
  return async ({ request, configuration, round, room, results }, config) => {
    const done = (results as { id: string; result: unknown }[]).map((entry) => ({
      id: entry.id,
      result: summary(entry.result),
    }));
    const reply = await askStructured({
      model: planner,
      schema: answer,
      name: "plan",
      messages: [
        new SystemMessage(await systemPrompt(options, request, config)),
        new HumanMessage(
          subtaskPlannerUserPrompt({
            request,
            maxSubtasks: configuration.maxSections,
            round: { number: round, room, done },
          }),
        ),
      ],
      callOptions: { tags: ["planner", `round:${round}`], metadata: { planning_round: round } },
      strategy: configuration.structuredOutput,
    });
    const calls = [{ role: "planner" as const, model: reply.model, ...reply.usage }];
    return {
      proposed:
        reply.problem === undefined ? (reply.value as { subtasks: unknown[] }).subtasks : undefined,
      calls,
    };
  };
}

/** A chat-model planner's system prompt for this call: the given one, or the default. */
async function systemPrompt(
  options: { plannerPrompt?: OrchestratorWorkersOptions<SubtaskFields>["plannerPrompt"] },
  request: string,
  config: LangGraphRunnableConfig,
): Promise<string> {
  const given = options.plannerPrompt;
  if (given === undefined) return SUBTASK_PLANNER_SYSTEM_PROMPT;
  return typeof given === "function" ? given({ request }, config) : given;
}

/** A result's first 300 characters on one line, for a later planning round. */
function summary(result: unknown): string {
  // Results are JSON data (see `checkedResult`), at most MAX_RESULT_CHARACTERS long.
  const text = typeof result === "string" ? result : (JSON.stringify(result) ?? "null");
  return text.slice(0, 300).replace(/\s+/g, " ");
}

/**
 * The worker as the core calls it. Its input always has `dependencies` (empty when none); the
 * model calls it makes through LangChain are recorded for budgets and usage (see `UsageRecorder`).
 */
function workOf<S extends SubtaskFields, Result>(worker: Worker<S, Result>): Work {
  const remote = isRemoteGraph(worker);
  const call = (input: WorkerInput<S, Result>, config: LangGraphRunnableConfig) => {
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
    return (worker as Runnable<WorkerInput<S, Result>, Result>).invoke(input, config);
  };
  return async (input, config, log) => {
    const subtask = input.subtask as CoreSubtask;
    const given: WorkerInput<S, Result> = {
      request: input.request as string,
      subtask: subtask as PlannedSubtask<S>,
      dependencies: (input.dependencies as { id: string; result: Result }[] | undefined) ?? [],
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

/** The zod schemas of a graph: its state, input, output, and a worker's `Send` input. */
export interface GraphSchemas<State, Input, Output> {
  State: State;
  Input: Input;
  Output: Output;
  WorkerInput: z.ZodObject;
}

/** What the core graph is made of: its schemas and shape, and the parts that differ per use. */
export interface OrchestratorWorkersParts<State, Input, Output> {
  schemas: GraphSchemas<State, Input, Output>;
  shape: StateShape;
  plan: Planner;
  replan: Replanner;
  work: Work;
  /** The synthesizer node: the generic one (`createSynthesizeNode`) or the report's. */
  synthesizer: (
    state: Record<string, unknown>,
    config: LangGraphRunnableConfig,
  ) => Promise<Record<string, unknown>>;
  /** Gives planned subtasks what a use adds (the report's roles). */
  assign?: (subtasks: CoreSubtask[], configuration: Configuration) => CoreSubtask[];
  /** Removes every configured secret from a failure message. */
  redact?: (text: string) => string;
  /** What `section_completed` says of a result. */
  describe?: (result: unknown) => { characters?: number };
  /** The work as a runnable of its own, for a run's configuration (see `createWorkerNode`). */
  steps?: (configuration: Configuration) => WorkSteps | undefined;
  /** The compiled graph's name when `compile` is given none. */
  name?: string;
}

/** A builder of the core topology, typed by its state, input and output schemas. */
function typedBuilder<
  State extends z.ZodObject,
  Input extends z.ZodObject,
  Output extends z.ZodObject,
>(schemas: GraphSchemas<State, Input, Output>) {
  const Builder = TaskBoundStateGraph as unknown as typeof StateGraph;
  // Typed by its arguments, which LangGraph's overloads cannot infer from generic schemas.
  return new Builder<
    State,
    ExtractStateType<State>,
    ExtractUpdateType<State, ExtractStateType<State>>,
    typeof START,
    Input,
    Output,
    typeof ConfigurationSchema
  >({
    state: schemas.State,
    input: schemas.Input,
    output: schemas.Output,
    context: ConfigurationSchema,
  } as never);
}

/**
 * The one orchestrator-workers topology, for the generic graph and the report alike:
 * orchestrator → dispatch → (review_plan) → worker (one `Send` each) → dispatch → (replanner) →
 * synthesizer. Dispatch is the one node that sends workers; every other node hands back to it.
 * Uncompiled; its `compile` gives a task-bound graph (see `TaskBoundStateGraph`).
 */
export function assembleOrchestratorWorkers<
  State extends z.ZodObject,
  Input extends z.ZodObject,
  Output extends z.ZodObject,
>(parts: OrchestratorWorkersParts<State, Input, Output>) {
  const { schemas, shape, assign } = parts;
  const builder = typedBuilder(schemas);
  (builder as unknown as TaskBoundStateGraph).graphName = parts.name;
  // The nodes read and write the state through the shape, so they are typed loosely here.
  (builder as unknown as StateGraph<z.ZodObject>)
    .addNode("orchestrator", createOrchestratorNode({ shape, plan: parts.plan, assign }))
    .addNode("dispatch", createDispatchNode(shape), { ends: [...DISPATCH_DESTINATIONS] })
    .addNode("review_plan", createReviewPlanNode(shape), { ends: ["orchestrator", "dispatch"] })
    .addNode(
      "worker",
      createWorkerNode({
        shape,
        work: parts.work,
        steps: parts.steps,
        redact: parts.redact,
        describe: parts.describe,
      }),
      { input: schemas.WorkerInput },
    )
    .addNode("replanner", createReplannerNode({ shape, replan: parts.replan, assign }))
    .addNode("synthesizer", parts.synthesizer)
    .addEdge(START, "orchestrator")
    .addEdge("orchestrator", "dispatch")
    .addEdge("worker", "dispatch")
    .addEdge("replanner", "dispatch")
    .addEdge("synthesizer", END);
  return builder;
}
