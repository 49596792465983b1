import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import type { StructuredToolInterface } from "@langchain/core/tools";
import { IterableReadableStream } from "@langchain/core/utils/stream";
import {
  CompiledStateGraph,
  END,
  START,
  StateGraph,
  type BaseCheckpointSaver,
} from "@langchain/langgraph";
import { readEnvironment, secretsOf, type Environment } from "../env.js";
import { redact } from "../errors.js";
import { createChatModelProvider } from "../models/chat-models.js";
import { DISPATCH_DESTINATIONS, dispatch } from "../nodes/dispatch.js";
import { createOrchestratorNode } from "../nodes/orchestrator.js";
import { createReplannerNode } from "../nodes/replanner.js";
import { reviewPlan } from "../nodes/review.js";
import { createSynthesizerNode } from "../nodes/synthesizer.js";
import { createWorkerNode } from "../nodes/worker.js";
import {
  ConfigurationSchema,
  DEFAULT_MAX_CONCURRENCY,
  RUN_TOOLS_KEY,
  resolveConfiguration,
} from "../schemas/configuration.js";
import { ReportInput, ReportOutput, ReportState, WorkerInput } from "../schemas/state.js";
import {
  openMcpServers,
  parseMcpServers,
  type McpServers,
  type McpServersInput,
} from "../tools/mcp.js";

/** Name of the compiled graph: the graph id in `langgraph.json` and the root run's name in traces. */
export const GRAPH_NAME = "report";

/** Tag on every run of this graph, so its traces are easy to find in LangSmith. */
export const TRACE_TAG = "orchestrator-workers";

/** Options of `createReportGraph` and `buildGraph`. */
export interface ReportGraphOptions {
  /** Chat model for every role. Overrides the models named in the configuration. */
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
  /** Secrets to redact from every error text; defaults to the environment's (`secretsOf`). */
  secrets?: string[];
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
  /**
   * MCP servers whose tools the workers may call, as in an MCP client's file (`{ "<name>": {
   * command, args, env } | { url, headers } }`): started once per run, beside the run's own
   * `mcpServers` configuration (which wins by name), and closed when the run ends.
   */
  mcpServers?: McpServersInput;
}

/**
 * Creates the uncompiled report graph: orchestrator → dispatch → (review_plan) → one `Send` per
 * section → worker → dispatch → (replanner → dispatch) → synthesizer. Dispatch is the one node
 * that sends workers; every other node hands back to it. Compile it yourself to add a
 * checkpointer, interrupts or a store.
 */
export function createReportGraph(options: ReportGraphOptions = {}) {
  const { environment, offline, onOfflineModel, tools, secrets, ...given } = options;
  // Without an explicit environment, the process environment is read when a run first needs it,
  // never when the module is imported.
  let read: Environment | undefined;
  const currentEnvironment = () => (read ??= environment ?? readEnvironment());
  const models = createChatModelProvider({
    ...given,
    environment: currentEnvironment,
    offline,
    secrets,
    onOfflineModel: onOfflineModel ?? ((notice) => console.warn(notice)),
  });
  const redactSecrets = (text: string) => redact(text, secrets ?? secretsOf(currentEnvironment()));
  return new StateGraph({
    state: ReportState,
    input: ReportInput,
    output: ReportOutput,
    context: ConfigurationSchema,
  })
    .addNode("orchestrator", createOrchestratorNode({ models }))
    .addNode("dispatch", dispatch, { ends: [...DISPATCH_DESTINATIONS] })
    .addNode("review_plan", reviewPlan, { ends: ["orchestrator", "dispatch"] })
    .addNode("worker", createWorkerNode({ models, tools, redact: redactSecrets }), {
      input: WorkerInput,
    })
    .addNode("replanner", createReplannerNode({ models }))
    .addNode("synthesizer", createSynthesizerNode({ models, redact: redactSecrets }))
    .addEdge(START, "orchestrator")
    .addEdge("orchestrator", "dispatch")
    .addEdge("worker", "dispatch")
    .addEdge("replanner", "dispatch")
    .addEdge("synthesizer", END);
}

type CompiledReportGraph = ReturnType<ReturnType<typeof createReportGraph>["compile"]>;
type StreamInput = Parameters<CompiledReportGraph["stream"]>[0];
type StreamOptions = Parameters<CompiledReportGraph["stream"]>[1];

// LangGraph takes the bound on tasks running at once (how many workers it starts) only from a
// run's top-level `maxConcurrency`; no public hook lets the run's configuration set it, and its
// task loop slows down with every task running at once (bench/NOTES.md). So the compiled graph is
// a subclass whose `stream` (which `invoke`, `streamEvents` and the dev server all go through)
// defaults it to the configured `maxConcurrency`; LangGraph's own `withConfig` copies keep the
// class. Pinned by tests/unit/graph.test.ts ("sections written at once are bounded...").
// The base is typed loosely here because `stream`'s generic overloads cannot be restated in an
// override; `buildGraph` gives the instance back its full compiled-graph type.
const CompiledBase = CompiledStateGraph as unknown as new (fields: object) => {
  stream(input: StreamInput, options?: StreamOptions): Promise<unknown>;
};

/**
 * The compiled report graph: runs bound their worker tasks by the configured `maxConcurrency`, and
 * a run that names MCP servers (the build's or its configuration's) starts them first, gives their
 * tools to the workers (`configurable[RUN_TOOLS_KEY]`) and closes them when it ends.
 */
class ReportGraph extends CompiledBase {
  /** The build's MCP servers; a field, so LangGraph's `withConfig` copies keep it. */
  readonly buildMcpServers?: McpServers;

  constructor(fields: object & { buildMcpServers?: McpServers }) {
    super(fields);
    this.buildMcpServers = fields.buildMcpServers;
  }

  override async stream(input: StreamInput, options?: StreamOptions): Promise<unknown> {
    const servers = { ...this.buildMcpServers, ...runMcpServers(options) };
    if (Object.keys(servers).length === 0) return super.stream(input, withTaskBound(options));
    const connections = await openMcpServers(servers);
    try {
      const configurable = { ...options?.configurable };
      const given: unknown = configurable[RUN_TOOLS_KEY];
      // The servers' settings may hold keys: the run itself never sees them, only the tools.
      delete configurable.mcpServers;
      configurable[RUN_TOOLS_KEY] = [
        ...(Array.isArray(given) ? (given as StructuredToolInterface[]) : []),
        ...connections.tools,
      ];
      const context = options?.context as Record<string, unknown> | undefined;
      const run = (await super.stream(
        input,
        withTaskBound({
          ...options,
          configurable,
          ...(context ? { context: withoutMcpServers(context) } : {}),
        } as StreamOptions),
      )) as ReadableStream<unknown>;
      return closingWhenDone(run, () => connections.close());
    } catch (error) {
      await connections.close();
      throw error;
    }
  }
}

/** The MCP servers a run's configuration names (`mcpServers` in `configurable` or `context`). */
function runMcpServers(options: StreamOptions): McpServers | undefined {
  const context = options?.context as Record<string, unknown> | undefined;
  const given: unknown = context?.mcpServers ?? options?.configurable?.mcpServers;
  if (given === undefined) return undefined;
  // A bad entry is refused naming the server and the field, before the one resolver reads it.
  parseMcpServers(given, { origin: "the run's mcpServers configuration" });
  return resolveConfiguration(options).mcpServers;
}

function withoutMcpServers(values: Record<string, unknown>): Record<string, unknown> {
  const { mcpServers: _servers, ...rest } = values;
  return rest;
}

/**
 * A run's stream that closes what was opened for the run once the run is over: finished, failed,
 * or cancelled (a consumer that breaks out of `for await` cancels it, which aborts the run). It
 * reads the run as LangGraph's own stream does, eagerly, so a consumer that stops reading without
 * cancelling still has the servers closed when the run ends.
 */
function closingWhenDone(
  run: ReadableStream<unknown>,
  close: () => Promise<void>,
): IterableReadableStream<unknown> {
  const reader = run.getReader();
  let cancelled = false;
  return new IterableReadableStream<unknown>({
    start(controller) {
      void (async () => {
        try {
          for (;;) {
            const { done, value } = await reader.read();
            if (done || cancelled) break;
            controller.enqueue(value);
          }
          await close();
          if (!cancelled) controller.close();
        } catch (error) {
          await close();
          if (!cancelled) controller.error(error);
        }
      })();
    },
    async cancel(reason) {
      cancelled = true;
      try {
        await reader.cancel(reason);
      } finally {
        await close();
      }
    },
  });
}

/**
 * Creates and compiles the report graph. Its runs default LangGraph's `maxConcurrency` (how many
 * worker tasks run at once) to the run's configured `maxConcurrency`, the same bound the model
 * clients put on requests; a `maxConcurrency` given in the invoke options wins. With `mcpServers`
 * (here or in a run's configuration), each run starts the servers and closes them when it ends.
 */
export function buildGraph(options: BuildGraphOptions = {}): CompiledReportGraph {
  const { checkpointer, name = GRAPH_NAME, mcpServers, ...graphOptions } = options;
  // Checked now, so a bad entry is refused when the graph is built, not at its first run.
  const buildMcpServers = mcpServers
    ? parseMcpServers(mcpServers, { origin: "buildGraph({ mcpServers })" })
    : undefined;
  const compiled = createReportGraph(graphOptions)
    .compile({ checkpointer, name })
    .withConfig({ tags: [TRACE_TAG] });
  const graph = new ReportGraph({
    ...compiled,
    buildMcpServers,
  }) as unknown as CompiledReportGraph;
  graph.name = name;
  return graph;
}

/**
 * LangGraph's task loop stops a step after its first task when it may run only one at a time (its
 * loop ends once no task is running, before starting the rest: bench/NOTES.md §8), so the task
 * bound is never below 2. With `maxConcurrency: 1` the model clients still send one request at a
 * time.
 */
const MIN_TASK_BOUND = 2;

function withTaskBound(options: StreamOptions): StreamOptions {
  const configured =
    options?.maxConcurrency ??
    (options?.context as { maxConcurrency?: unknown } | undefined)?.maxConcurrency ??
    (options?.configurable as { maxConcurrency?: unknown } | undefined)?.maxConcurrency;
  const bound =
    typeof configured === "number" && Number.isInteger(configured) && configured > 0
      ? configured
      : DEFAULT_MAX_CONCURRENCY;
  return { ...options, maxConcurrency: Math.max(MIN_TASK_BOUND, bound) } as StreamOptions;
}

/** The compiled report graph that LangGraph Studio and the dev server load through `langgraph.json`. */
export const graph = buildGraph();
