import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import type { Runnable } from "@langchain/core/runnables";
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
import { InvalidInputError, redact, redactValue } from "../errors.js";
import { storableText } from "../schemas/input.js";
import { outputMessage } from "../schemas/messages.js";
import {
  createSubtaskPlanner,
  createSubtaskReplanner,
  type PlannerPrompt,
  type SubtaskPlanning,
} from "../models/subtask-planner.js";
import { createDispatchNode, DISPATCH_DESTINATIONS } from "../nodes/dispatch.js";
import { createOrchestratorNode } from "../nodes/orchestrator.js";
import { createReplannerNode } from "../nodes/replanner.js";
import { createReviewPlanNode } from "../nodes/review.js";
import { createSynthesizeNode, type SynthesisInput } from "../nodes/synthesize.js";
import { createWorkerNode } from "../nodes/worker.js";
import {
  ConfigurationSchema,
  CoreConfigurationSchema,
  type Configuration,
} from "../schemas/configuration.js";
import type {
  CoreSubtask,
  Planner,
  Replanner,
  StateShape,
  Work,
  WorkSteps,
} from "../schemas/shape.js";
import {
  orchestratorWorkersSchemas,
  subtaskShape,
  type SubtaskFields,
} from "../schemas/subtasks.js";
import { TaskBoundStateGraph } from "./compiled.js";
import { workOf } from "./worker-adapter.js";

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
  plannerPrompt?: PlannerPrompt;
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
  // The user's typed functions, as the planners call them (with checked, typed values).
  const planning: SubtaskPlanning = {
    planner: options.planner as SubtaskPlanning["planner"],
    plannerPrompt: options.plannerPrompt,
    given: schemas.GivenSubtask,
    replan: options.replan as SubtaskPlanning["replan"],
  };
  const secrets = () => options.secrets ?? secretsOf(readEnvironment());
  return assembleOrchestratorWorkers({
    schemas,
    shape,
    plan: createSubtaskPlanner(planning),
    replan: createSubtaskReplanner(planning),
    work: workOf(options.worker as Parameters<typeof workOf>[0]),
    synthesizer: createSynthesizeNode({
      shape,
      synthesize: options.synthesize as Parameters<typeof createSynthesizeNode>[0]["synthesize"],
    }),
    redact: (text) => redact(text, secrets()),
    name: options.name ?? DEFAULT_GRAPH_NAME,
    context: CoreConfigurationSchema,
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
  /**
   * Removes every configured secret from a text: from failure messages, and from every update the
   * nodes that hold model or worker output (orchestrator, worker, replanner, synthesizer) hand to
   * the state, so a secret an answer or a tool quoted reaches no checkpoint, report or output.
   */
  redact?: (text: string) => string;
  /** What `section_completed` says of a result. */
  describe?: (result: unknown) => { characters?: number };
  /** The work as a runnable of its own, for a run's configuration (see `createWorkerNode`). */
  steps?: (configuration: Configuration) => WorkSteps | undefined;
  /** The compiled graph's name when `compile` is given none. */
  name?: string;
  /** The run context's schema, which Studio shows; defaults to the whole `ConfigurationSchema`. */
  context?: z.ZodObject;
}

/** A builder of the core topology, typed by its state, input and output schemas. */
function typedBuilder<
  State extends z.ZodObject,
  Input extends z.ZodObject,
  Output extends z.ZodObject,
>(schemas: GraphSchemas<State, Input, Output>, context: z.ZodObject) {
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
    context,
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
  const builder = typedBuilder(schemas, parts.context ?? ConfigurationSchema);
  const stored = storedRedacted(parts.redact);
  (builder as unknown as TaskBoundStateGraph).graphName = parts.name;
  // The nodes read and write the state through the shape, so they are typed loosely here.
  (builder as unknown as StateGraph<z.ZodObject>)
    .addNode("orchestrator", stored(createOrchestratorNode({ shape, plan: parts.plan, assign })))
    .addNode("dispatch", createDispatchNode(shape), { ends: [...DISPATCH_DESTINATIONS] })
    .addNode("review_plan", createReviewPlanNode(shape), { ends: ["orchestrator", "dispatch"] })
    .addNode(
      "worker",
      stored(
        createWorkerNode({
          shape,
          work: parts.work,
          steps: parts.steps,
          redact: parts.redact,
          describe: parts.describe,
        }),
      ),
      { input: schemas.WorkerInput },
    )
    .addNode(
      "replanner",
      stored(createReplannerNode({ shape, replan: parts.replan, assign, redact: parts.redact })),
    )
    .addNode("synthesizer", answered(stored(parts.synthesizer), shape.keys.output, parts.name))
    .addEdge(START, "orchestrator")
    .addEdge("orchestrator", "dispatch")
    .addEdge("worker", "dispatch")
    .addEdge("replanner", "dispatch")
    .addEdge("synthesizer", END);
  return builder;
}

/**
 * Wraps the synthesizer so its update ends the chat with one AI message holding the output (as
 * text: see `outputMessage`), made from the update as stored (redacted, control characters out).
 */
function answered(
  node: (
    state: Record<string, unknown>,
    config: LangGraphRunnableConfig,
  ) => Promise<Record<string, unknown>>,
  outputKey: string,
  name: string | undefined,
) {
  return async (state: Record<string, unknown>, config: LangGraphRunnableConfig) => {
    const update = await node(state, config);
    return { ...update, messages: [outputMessage(update[outputKey], name)] };
  };
}

/**
 * Wraps a node so its update is redacted (`redactValue`) and stripped of control characters
 * (`storableText`: terminal escapes, NUL, bidi overrides) before LangGraph stores it: the one
 * place model answers and tool output enter the state, whichever model, worker or tool wrote them.
 */
function storedRedacted(redactText: ((text: string) => string) | undefined) {
  const clean = redactText ? (text: string) => storableText(redactText(text)) : storableText;
  return <Input, Update>(
    node: (input: Input, config: LangGraphRunnableConfig) => Promise<Update>,
  ): ((input: Input, config: LangGraphRunnableConfig) => Promise<Update>) => {
    return async (input, config) => redactValue(await node(input, config), clean);
  };
}
