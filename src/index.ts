/**
 * Public API of orchestrator-workers:
 * - the pattern for any task: `createOrchestratorWorkers` and its types;
 * - the report graph built on it: `buildGraph`, `createReportGraph`, the compiled `graph`, their
 *   state, input and output schemas, configuration and prompts;
 * - worker tools: a local sources tool, a Wikipedia tool, MCP servers;
 * - the errors the package throws.
 * Test doubles (a scripted model, a local OpenAI-compatible server) are in
 * `orchestrator-workers/testing`.
 */

// The building block.
export {
  createOrchestratorWorkers,
  type GivenSubtask,
  type OrchestratorWorkersOptions,
  type PlannedSubtask,
  type PlannerFunction,
  type ReplanFunction,
  type Worker,
  type WorkerFunction,
  type WorkerInput as SubtaskWorkerInput,
} from "./graph/orchestrator-workers.js";
export type { SynthesisInput } from "./nodes/synthesize.js";
export { MAX_REQUEST_LENGTH, orchestratorWorkersSchemas } from "./schemas/subtasks.js";
export { PLAN_STATUSES, type PlanStatus } from "./schemas/plan.js";
export type { ProgressEvent } from "./schemas/events.js";

// The report graph.
export {
  buildGraph,
  createReportGraph,
  graph,
  GRAPH_NAME,
  TRACE_TAG,
  type BuildGraphOptions,
  type ReportGraphOptions,
} from "./graph/graph.js";
export {
  ReportInput,
  ReportOutput,
  ReportState,
  WorkerInput,
  type ReportInputType,
  type ReportOutputType,
  type ReportStateType,
  type WorkerInputType,
} from "./schemas/state.js";
export { MAX_TOPIC_LENGTH, validateInput } from "./schemas/input.js";
export type { PlanReviewFormat, PlanReviewInterrupt, PlanReviewRequest } from "./schemas/review.js";
export { PLAN_REVIEW_FORMATS } from "./schemas/review.js";
export { PlanSchema, PlanStateSchema, type Plan, type PlanState } from "./schemas/plan.js";
export {
  CompletedSectionSchema,
  FailedSectionSchema,
  InputSectionSchema,
  PlannedSectionSchema,
  SectionSchema,
  SourceSchema,
  SectionCitationsSchema,
  SectionReviewSchema,
  type CitationCheckResult,
  type CompletedSection,
  type FailedSection,
  type InputSection,
  type PlannedSection,
  type Section,
  type SectionCitations,
  type SectionReview,
  type Source,
} from "./schemas/section.js";
export { CitationSummarySchema, type CitationSummary } from "./schemas/citations.js";
export {
  DEFAULT_PRICES,
  ModelCallSchema,
  UsageLedgerSchema,
  type ModelCall,
  type UsageLedger,
} from "./schemas/usage.js";

// Configuration (either graph's `configurable` or `context`) and the default prompts.
export {
  CITATION_CHECKS,
  ConfigurationSchema,
  DEFAULT_MODEL,
  DEFAULT_ROLES,
  McpServerSchema,
  RoleSchema,
  resolveConfiguration,
  type CitationCheck,
  type Configuration,
  type ConfigurationInput,
  type McpServer,
  type Role,
} from "./schemas/configuration.js";
export {
  AGGREGATOR_SYSTEM_PROMPT,
  PLANNER_SYSTEM_PROMPT,
  REVIEWER_SYSTEM_PROMPT,
  SUBTASK_PLANNER_SYSTEM_PROMPT,
  VERIFIER_SYSTEM_PROMPT,
  WRITER_SYSTEM_PROMPT,
} from "./schemas/prompts.js";
export type { Environment } from "./env.js";
export { OfflineChatModel, OFFLINE_MODEL_NAME } from "./models/offline-chat-model.js";

// Worker tools.
export { createSourcesTool } from "./tools/sources.js";
export { createWikipediaTool } from "./tools/wikipedia.js";
/** MCP servers as worker tools: read an `mcpServers` file, start the servers, close them. */
export {
  openMcpServers,
  parseMcpServers,
  readMcpServersFile,
  type McpServerConnections,
  type McpServers,
  type McpServersInput,
  type OpenMcpServersOptions,
} from "./tools/mcp.js";

// Errors: check them with `isInstance`, not `instanceof`.
export {
  FailFastError,
  InvalidInputError,
  ModelServerUnreachableError,
  OrchestratorWorkersError,
  PlanError,
  SectionError,
  ThreadBusyError,
} from "./errors.js";
