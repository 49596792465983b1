import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import type { StructuredToolInterface } from "@langchain/core/tools";
import { IterableReadableStream } from "@langchain/core/utils/stream";
import type { BaseCheckpointSaver, LangGraphRunnableConfig } from "@langchain/langgraph";
import { readEnvironment, secretsOf, type Environment } from "../env.js";
import { redact } from "../errors.js";
import { createChatModelProvider } from "../models/chat-models.js";
import { createReportPlanner, createReportReplanner } from "../models/report-planner.js";
import { createSectionWork } from "../nodes/section-worker.js";
import { createSynthesizerNode } from "../nodes/synthesizer.js";
import { assignRoles } from "../schemas/input.js";
import type { CompletedSection, Section } from "../schemas/section.js";
import type { CoreSubtask } from "../schemas/shape.js";
import { RUN_TOOLS_KEY, resolveConfiguration } from "../schemas/configuration.js";
import {
  REPORT_SHAPE,
  ReportInput,
  ReportOutput,
  ReportState,
  WorkerInput,
} from "../schemas/state.js";
import {
  mcpSecretsOf,
  openMcpServers,
  parseMcpServers,
  type McpServers,
  type McpServersInput,
} from "../tools/mcp.js";
import { TaskBoundGraph } from "./compiled.js";
import { assembleOrchestratorWorkers } from "./orchestrator-workers.js";

/** Name of the compiled graph: the graph id in `langgraph.json` and the root run's name in traces. */
export const GRAPH_NAME = "report";

export { TRACE_TAG } from "./compiled.js";

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
 * Creates the uncompiled report graph, the flagship use of the orchestrator-workers core
 * (`assembleOrchestratorWorkers`, which `createOrchestratorWorkers` builds on too): orchestrator →
 * dispatch → (review_plan) → one `Send` per section → worker → dispatch → (replanner → dispatch) →
 * synthesizer. Its planner is the planner model, its worker writes a section (tools, review,
 * citations), its synthesizer assembles the Markdown report. Compile it yourself to add a
 * checkpointer, interrupts or a store.
 */
export function createReportGraph(options: ReportGraphOptions = {}) {
  return reportGraph(options, new Set()).graph;
}

/**
 * The report graph whose redaction also removes `runSecrets`: the secrets of the MCP servers its
 * runs start (`buildGraph` adds each run's before the run begins).
 */
function reportGraph(options: ReportGraphOptions, runSecrets: ReadonlySet<string>) {
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
  // Made again only when a run added MCP secrets; longest first, so a header's whole value is
  // replaced before the token inside it.
  let known: { size: number; secrets: string[] } | undefined;
  const configuredSecrets = () => {
    const size = runSecrets.size + (secrets?.length ?? 0);
    if (known?.size !== size) {
      const all = new Set([...(secrets ?? secretsOf(currentEnvironment())), ...runSecrets]);
      known = { size, secrets: [...all].sort((a, b) => b.length - a.length) };
    }
    return known.secrets;
  };
  const redactSecrets = (text: string) => redact(text, configuredSecrets());
  const sections = createSectionWork({ models, tools, redact: redactSecrets });
  const graph = assembleOrchestratorWorkers({
    schemas: { State: ReportState, Input: ReportInput, Output: ReportOutput, WorkerInput },
    shape: REPORT_SHAPE,
    name: GRAPH_NAME,
    plan: createReportPlanner(models),
    replan: createReportReplanner(models),
    assign: (sections, configuration) =>
      assignRoles(
        sections as unknown as Section[],
        configuration.roles,
      ) as unknown as CoreSubtask[],
    work: sections.work,
    steps: sections.steps,
    describe: (section) => ({ characters: (section as CompletedSection).content.length }),
    redact: redactSecrets,
    synthesizer: createSynthesizerNode({ models, redact: redactSecrets }) as (
      state: Record<string, unknown>,
      config: LangGraphRunnableConfig,
    ) => Promise<Record<string, unknown>>,
  });
  return { graph, secrets: configuredSecrets };
}

type CompiledReportGraph = ReturnType<ReturnType<typeof createReportGraph>["compile"]>;
type StreamInput = Parameters<CompiledReportGraph["stream"]>[0];
type StreamOptions = Parameters<CompiledReportGraph["stream"]>[1];

// The report's compiled graph adds per-run MCP servers to the core's task-bound graph; the base
// is typed loosely (see `TaskBoundGraph`), `buildGraph` gives the instance its full type back.
const CompiledBase = TaskBoundGraph as unknown as new (fields: object) => {
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
  /** The secrets of every MCP server a run started, which the graph's redaction removes too. */
  readonly runSecrets: Set<string>;
  /** Every secret the graph redacts. */
  readonly secrets: () => string[];

  constructor(
    fields: object & {
      buildMcpServers?: McpServers;
      runSecrets: Set<string>;
      secrets: () => string[];
    },
  ) {
    super(fields);
    this.buildMcpServers = fields.buildMcpServers;
    this.runSecrets = fields.runSecrets;
    this.secrets = fields.secrets;
  }

  override async stream(input: StreamInput, options?: StreamOptions): Promise<unknown> {
    const servers = { ...this.buildMcpServers, ...runMcpServers(options) };
    if (Object.keys(servers).length === 0) return super.stream(input, options);
    // Kept, not removed when the run ends: a run still going may have seen them (redacting a
    // value that is no longer secret costs nothing).
    for (const secret of mcpSecretsOf(servers)) this.runSecrets.add(secret);
    const connections = await openMcpServers(servers, { secrets: this.secrets() });
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
      const run = (await super.stream(input, {
        ...options,
        configurable,
        ...(context ? { context: withoutMcpServers(context) } : {}),
      } as StreamOptions)) as ReadableStream<unknown>;
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
  const runSecrets = new Set(buildMcpServers ? mcpSecretsOf(buildMcpServers) : []);
  const built = reportGraph(graphOptions, runSecrets);
  // Compiled by the core's builder: task-bound and tagged `TRACE_TAG`.
  const compiled = built.graph.compile({ checkpointer, name });
  const graph = new ReportGraph({
    ...compiled,
    buildMcpServers,
    runSecrets,
    secrets: built.secrets,
  }) as unknown as CompiledReportGraph;
  graph.name = name;
  return graph;
}

/** The compiled report graph that LangGraph Studio and the dev server load through `langgraph.json`. */
export const graph = buildGraph();
