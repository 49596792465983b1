import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import type { StructuredToolInterface } from "@langchain/core/tools";
import { END, START, StateGraph, type BaseCheckpointSaver } from "@langchain/langgraph";
import { readEnvironment, type Environment } from "../env.js";
import { createChatModelProvider, type ChatModelProvider } from "../models/chat-models.js";
import { createOrchestratorNode } from "../nodes/orchestrator.js";
import { createSynthesizerNode } from "../nodes/synthesizer.js";
import { createWorkerNode } from "../nodes/worker.js";
import { ConfigurationSchema, DEFAULT_MAX_CONCURRENCY } from "../schemas/configuration.js";
import { reviewPlan } from "../nodes/review.js";
import { dispatch } from "../nodes/dispatch.js";
import { routeAfterPlanning } from "./routing.js";
import { TRACE_TAG } from "./tracing.js";
import { ReportInput, ReportOutput, ReportState, WorkerInput } from "./state.js";

/** Name of the compiled graph: the graph id in `langgraph.json` and the root run's name in traces. */
export const GRAPH_NAME = "report";

/** Options of `createReportGraph` and `buildGraph`. */
export interface ReportGraphOptions {
  /** Chat model for both planner and writers. Overrides the models named in the configuration. */
  model?: BaseChatModel;
  /** Chat model for the planner only (wins over `model`). */
  plannerModel?: BaseChatModel;
  /** Chat model for the writers only (wins over `model`). */
  writerModel?: BaseChatModel;
  /** Chat model for the aggregator only (synthesis: llm; wins over `model`). */
  aggregatorModel?: BaseChatModel;
  /** Where OpenAI settings come from when no model is given; defaults to the process environment. */
  environment?: Environment;
  /** Use the offline model when no model is given, whatever the environment says. */
  offline?: boolean;
  /** Called once when the offline model is chosen; defaults to a warning on stderr. */
  onOfflineModel?: (notice: string) => void;
  /**
   * LangChain tools the workers may call (`tool(...)` from @langchain/core/tools), for example
   * `createSourcesTool`. With tools, each worker runs a tool loop of at most `maxWorkerSteps`
   * model calls; without, one call per section.
   */
  tools?: StructuredToolInterface[];
}

/** Options of `buildGraph`: the graph's options plus how to compile it. */
export interface BuildGraphOptions extends ReportGraphOptions {
  /** Checkpointer that persists runs (threads); none by default. */
  checkpointer?: BaseCheckpointSaver | boolean;
  /** Graph name in traces and streams; defaults to `GRAPH_NAME`. */
  name?: string;
}

/**
 * Creates the uncompiled report graph: orchestrator → (review_plan, with `reviewPlan`) → (Send per
 * section) → worker → synthesizer.
 * Compile it yourself to add a checkpointer, interrupts or a store.
 */
export function createReportGraph(options: ReportGraphOptions = {}) {
  const models = modelProvider(options);
  return new StateGraph({
    state: ReportState,
    input: ReportInput,
    output: ReportOutput,
    context: ConfigurationSchema,
  })
    .addNode("orchestrator", createOrchestratorNode({ models }))
    .addNode("review_plan", reviewPlan, {
      ends: ["worker", "orchestrator", "synthesizer", "dispatch"],
    })
    .addNode("worker", createWorkerNode({ models, tools: options.tools }), { input: WorkerInput })
    .addNode("dispatch", dispatch, { ends: ["worker", "synthesizer", "orchestrator"] })
    .addNode("synthesizer", createSynthesizerNode({ models }))
    .addEdge(START, "orchestrator")
    .addConditionalEdges("orchestrator", routeAfterPlanning, [
      "review_plan",
      "dispatch",
      "worker",
      "synthesizer",
    ])
    .addEdge("worker", "dispatch")
    .addEdge("synthesizer", END);
}

/**
 * Creates and compiles the report graph. Its runs default LangGraph's `maxConcurrency` (how many
 * worker tasks run at once) to the run's configured `maxConcurrency`, the same bound the model
 * clients put on requests: LangGraph's task loop slows down with the number of tasks running at
 * once (see bench/NOTES.md), and tasks beyond the bound would only wait in the client's queue.
 * A `maxConcurrency` given in the invoke options wins.
 */
export function buildGraph(options: BuildGraphOptions = {}) {
  const { checkpointer, name = GRAPH_NAME, ...graphOptions } = options;
  const compiled = createReportGraph(graphOptions)
    .compile({ checkpointer, name })
    .withConfig({ tags: [TRACE_TAG] });
  compiled.name = name;
  // `invoke`, `streamEvents` and the dev server all run through `stream`. Calling the prototype's
  // method on `this` keeps copies made by `withConfig` working.
  type Stream = (this: unknown, input: unknown, runOptions?: RunOptions) => unknown;
  const stream = (Object.getPrototypeOf(compiled) as { stream: Stream }).stream;
  (compiled as unknown as { stream: Stream }).stream = function (input, runOptions) {
    return stream.call(this, input, withFanOutLimit(runOptions));
  };
  return compiled;
}

/** Run options with `maxConcurrency` defaulted from the run's configuration. */
interface RunOptions {
  maxConcurrency?: number;
  configurable?: Record<string, unknown>;
  context?: unknown;
}

function withFanOutLimit(runOptions: RunOptions | undefined): RunOptions {
  if (runOptions?.maxConcurrency !== undefined) return runOptions;
  const configured =
    (runOptions?.context as { maxConcurrency?: unknown } | undefined)?.maxConcurrency ??
    runOptions?.configurable?.maxConcurrency;
  const maxConcurrency =
    typeof configured === "number" && Number.isInteger(configured) && configured > 0
      ? configured
      : DEFAULT_MAX_CONCURRENCY;
  return { ...runOptions, maxConcurrency };
}

/** The compiled report graph that LangGraph Studio and the dev server load through `langgraph.json`. */
export const graph = buildGraph();

function modelProvider(options: ReportGraphOptions): ChatModelProvider {
  const fallback = createChatModelProvider({
    environment: options.environment ?? readEnvironment(),
    offline: options.offline,
    onOfflineModel: options.onOfflineModel ?? ((notice) => console.warn(notice)),
  });
  return (request) => {
    const given = {
      planner: options.plannerModel,
      writer: options.writerModel,
      aggregator: options.aggregatorModel,
    }[request.role];
    return given ?? options.model ?? fallback(request);
  };
}
