import type { LangGraphRunnableConfig } from "@langchain/langgraph";
import type { Configuration } from "./configuration.js";
import type { ProgressEvent } from "./events.js";
import type { PlanStatus } from "./plan.js";
import type { ModelCall } from "./usage.js";

/** Where a plan's latest change came from: the planner, the input, the thread, a reviewer, a later round. */
export const PLAN_SOURCES = ["planner", "input", "checkpoint", "review", "replan"] as const;
export type PlanSource = (typeof PLAN_SOURCES)[number];

/** A planned subtask as the core sees it: its stable id, what it waits for, and its own fields. */
export interface CoreSubtask {
  id: string;
  dependsOn?: string[];
  /** The planning round that added it, when later than the first. */
  round?: number;
  role?: string;
  [field: string]: unknown;
}

/** A plan as the core sees it, whatever the graph calls its keys. */
export interface CorePlan {
  request: string;
  subtasks: CoreSubtask[];
  status: PlanStatus;
  source: PlanSource;
  round: number;
  revisions: number;
  feedback?: string;
  /** Id of the human message in `messages` the plan answers. */
  messageId?: string;
}

/** The part of a graph's state the core nodes read. */
export interface CoreState {
  request?: unknown;
  /** A ready-made plan from the input, unchecked. */
  subtasks?: unknown;
  plan?: CorePlan;
  /** Finished subtasks' entries (each with its subtask's `id`), in the order they arrived. */
  results: { id: string }[];
  /** Failed subtasks' entries (each with its subtask's `id`). */
  failed: { id: string }[];
  modelCalls: ModelCall[];
  /** The chat (`messages`), as LangGraph's messages reducer keeps it. */
  messages: unknown[];
}

/** An update the core nodes make, before it is written under the graph's own key names. */
export interface CoreUpdate {
  request?: string;
  /** `null` clears a ready-made plan once it has been adopted. */
  subtasks?: null;
  plan?: CorePlan;
  results?: unknown;
  failed?: unknown;
  modelCalls?: unknown;
  warnings?: unknown;
  output?: unknown;
  /** Messages to add to the chat (`messages`). */
  messages?: unknown[];
}

/**
 * The names a graph gives the core's state keys. The generic graph uses the core's own names; the
 * report graph keeps its vocabulary (`topic`, `sections`, `completedSections`, ...), which its
 * callers, stored threads and Studio already know.
 */
export interface StateKeys {
  /** The request (`request`; the report's `topic`); also the plan's field for it. */
  request: string;
  /** A ready-made plan in the input (`subtasks`; `sections`); also the plan's list. */
  subtasks: string;
  /** A worker's own subtask in its `Send` (`subtask`; `section`). */
  subtask: string;
  /** Finished subtasks (`results`; `completedSections`). */
  results: string;
  /** Failed subtasks (`failed`; `failedSections`). */
  failed: string;
  /** What the synthesizer makes (`output`; `report`). */
  output: string;
}

/** The core's own key names. */
export const CORE_KEYS: StateKeys = {
  request: "request",
  subtasks: "subtasks",
  subtask: "subtask",
  results: "results",
  failed: "failed",
  output: "output",
};

/**
 * What the core nodes (planning, dispatch, plan review, re-planning, the worker wrapper) need to
 * know about a graph: its key names, how its subtasks are checked and named, and what a worker
 * appends and a dependent worker receives. One per kind of graph: the generic one, the report.
 */
export interface StateShape {
  keys: StateKeys;
  /** What a subtask is called in messages: "subtask"; the report's "section". */
  noun: string;
  /** Checks the request and a ready-made plan before any model call; throws `InvalidInputError`. */
  validateInput(input: { request: unknown; subtasks: unknown }): {
    request: string;
    subtasks?: CoreSubtask[];
  };
  /** Checks a list of subtasks and gives each a stable id; `field` names it in errors. */
  withIds(subtasks: unknown[], field: string): CoreSubtask[];
  /** True when a ready-made plan is the same as the thread's plan (so the thread's work is kept). */
  samePlan(given: CoreSubtask[], current: CoreSubtask[]): boolean;
  /** A subtask's name in progress events, run names and messages. */
  label(subtask: CoreSubtask): string;
  /** The entry a finished worker appends to the results key. */
  resultEntry(subtask: CoreSubtask, result: unknown): { id: string };
  /** The entry a failed worker appends to the failed key. */
  failedEntry(subtask: CoreSubtask, error: string): { id: string };
  /** What a dependent worker receives of a finished subtask's entry. */
  dependency(entry: { id: string }): unknown;
}

/** Reads the core's view of a graph's state. */
export function readState(shape: StateShape, state: Record<string, unknown>): CoreState {
  const { keys } = shape;
  const plan = state.plan as Record<string, unknown> | undefined;
  return {
    request: state[keys.request],
    subtasks: state[keys.subtasks],
    plan: plan ? corePlan(keys, plan) : undefined,
    results: (state[keys.results] as { id: string }[] | undefined) ?? [],
    failed: (state[keys.failed] as { id: string }[] | undefined) ?? [],
    modelCalls: (state.modelCalls as ModelCall[] | undefined) ?? [],
    messages: (state.messages as unknown[] | undefined) ?? [],
  };
}

/** Writes a core update under the graph's key names. */
export function writeUpdate(shape: StateShape, update: CoreUpdate): Record<string, unknown> {
  const { keys } = shape;
  const written: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(update)) {
    if (value === undefined) continue;
    if (key === "plan") written.plan = graphPlan(keys, value as CorePlan);
    else if (key === "modelCalls" || key === "warnings" || key === "messages") written[key] = value;
    else written[keys[key as keyof StateKeys]] = value;
  }
  return written;
}

function corePlan(keys: StateKeys, plan: Record<string, unknown>): CorePlan {
  if (keys.request === "request" && keys.subtasks === "subtasks")
    return plan as unknown as CorePlan;
  const { [keys.request]: request, [keys.subtasks]: subtasks, ...rest } = plan;
  return { ...(rest as Omit<CorePlan, "request" | "subtasks">), request, subtasks } as CorePlan;
}

function graphPlan(keys: StateKeys, plan: CorePlan): Record<string, unknown> {
  if (keys.request === "request" && keys.subtasks === "subtasks") return { ...plan };
  const { request, subtasks, ...rest } = plan;
  return { ...rest, [keys.request]: request, [keys.subtasks]: subtasks };
}

/** The finished entries in plan order, one per planned id (a later entry for an id wins). */
export function inPlanOrder<T extends { id: string }>(
  plan: readonly { id: string }[],
  entries: readonly T[],
): T[] {
  const byId = new Map(entries.map((entry) => [entry.id, entry]));
  return plan.flatMap((subtask) => byId.get(subtask.id) ?? []);
}

/** What a planner is asked: the request, and after a review the previous plan and the feedback. */
export interface PlanningRequest {
  request: string;
  configuration: Configuration;
  review?: { previousPlan: CoreSubtask[]; feedback: string };
  /** Warnings to add to the run's (a plan cut to `maxSections`, say). */
  warnings: string[];
}

/** Makes a plan: checked subtasks with their ids, and the model calls it paid for. */
export type Planner = (
  request: PlanningRequest,
  config: LangGraphRunnableConfig,
) => Promise<{ subtasks: CoreSubtask[]; calls: ModelCall[] }>;

/** What a later planning round is asked: what was planned and done, and how many more may come. */
export interface ReplanningRequest {
  request: string;
  configuration: Configuration;
  /** The round being planned (2 for the first later round). */
  round: number;
  /** How many subtasks may still be added (`maxSections` less the plan's). */
  room: number;
  plan: CorePlan;
  /** The finished entries, in plan order. */
  results: { id: string }[];
}

/**
 * Proposes subtasks to add (unchecked, without ids; empty when the work is complete), or
 * `undefined` when its answer could not be used; with the model calls it paid for.
 */
export type Replanner = (
  request: ReplanningRequest,
  config: LangGraphRunnableConfig,
) => Promise<{ proposed: unknown[] | undefined; calls: ModelCall[] }>;

/** What a worker records as it goes: the model calls it paid for and the warnings for the run. */
export interface WorkLog {
  calls: ModelCall[];
  warnings: string[];
  /** Sends a progress event on the run's `custom` stream. */
  emit: (event: ProgressEvent) => void;
  /** The worker node's config (its run's configurable: the run's tools, say). */
  config: LangGraphRunnableConfig;
}

/**
 * A subtask's work as a runnable of its own (a compiled subgraph of steps), run as the subtask's
 * named run instead of a function: what it is given, and where its output holds the result.
 */
export interface WorkSteps {
  runnable: {
    withConfig(config: Record<string, unknown>): {
      invoke(input: unknown, config?: LangGraphRunnableConfig): Promise<unknown>;
    };
  };
  input: (input: Record<string, unknown>, log: WorkLog) => unknown;
  result: (output: unknown) => unknown;
}

/**
 * A worker's work on one subtask: gets its `Send` input and the config of its own child run, and
 * returns the result; throws when it fails (the core records the failure, the others go on).
 */
export type Work = (
  input: Record<string, unknown>,
  config: LangGraphRunnableConfig,
  log: WorkLog,
) => Promise<unknown>;
