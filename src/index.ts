/**
 * Public API: the orchestrator-workers pattern for any task (`createOrchestratorWorkers`), and the
 * report graph built on it (build it with your own models and checkpointer, or use the compiled
 * default `graph`); run either with `invoke` or `stream`.
 */
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
export type { ProgressEvent } from "./schemas/events.js";
export {
  CITATION_CHECKS,
  ConfigurationSchema,
  DEFAULT_MODEL,
  DEFAULT_ROLES,
  RoleSchema,
  resolveConfiguration,
  type CitationCheck,
  type Configuration,
  type ConfigurationInput,
  type Role,
} from "./schemas/configuration.js";
export type { PlanReviewRequest } from "./schemas/review.js";
export {
  PlanSchema,
  PlanStateSchema,
  PLAN_STATUSES,
  planSchemaFor,
  type Plan,
  type PlanState,
  type PlanStatus,
} from "./schemas/plan.js";
export {
  DEFAULT_PRICES,
  ModelCallSchema,
  UsageLedgerSchema,
  usageLedger,
  type ModelCall,
  type UsageLedger,
} from "./schemas/usage.js";
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
/** Citation checking as the workers do it: other forms to `[key]`, fabricated keys, the summary. */
export {
  CitationSummarySchema,
  checkCitations,
  citationSummary,
  citedClaims,
  type CheckedCitations,
  type CitationSummary,
  type RetrievedSource,
} from "./schemas/citations.js";
export { MAX_TOPIC_LENGTH, validateInput } from "./schemas/input.js";
export { MODEL_PROVIDERS, parseModelName, providerPackage } from "./models/providers.js";
export {
  chatModelName,
  checkModelNames,
  createChatModelProvider,
  usesOfflineModel,
  type ChatModelProvider,
  type ChatModelProviderOptions,
  type GivenModels,
  type ModelRole,
} from "./models/chat-models.js";
export {
  OfflineChatModel,
  OFFLINE_MODEL_NAME,
  OFFLINE_NOTICE,
} from "./models/offline-chat-model.js";
export {
  LocalChatModel,
  type LocalChatReply,
  type LocalChatRequest,
  type LocalToolDefinition,
} from "./models/local-chat-model.js";
export { readEnvironment, secretsOf, type Environment } from "./env.js";
export { createSourcesTool } from "./tools/sources.js";
export { createWikipediaTool } from "./tools/wikipedia.js";
/** MCP servers as worker tools: read an `mcpServers` file, start the servers, close them. */
export {
  mcpSecretsOf,
  openMcpServers,
  parseMcpServers,
  readMcpServersFile,
  type McpServerConnections,
  type McpServers,
  type McpServersInput,
  type OpenMcpServersOptions,
} from "./tools/mcp.js";
/** One MCP server entry (`{ command, args, env, cwd }` or `{ url, headers }`), as a zod schema. */
export { McpServerSchema, type McpServer } from "./schemas/configuration.js";
export { formatResults, sourcesIn, type ToolResult } from "./tools/results.js";
export {
  InvalidInputError,
  ModelServerUnreachableError,
  OrchestratorWorkersError,
  PlanError,
  SectionError,
  redact,
  shortMessage,
} from "./errors.js";
export {
  AGGREGATOR_SYSTEM_PROMPT,
  PLANNER_SYSTEM_PROMPT,
  REVIEWER_SYSTEM_PROMPT,
  VERIFIER_SYSTEM_PROMPT,
  WRITER_SYSTEM_PROMPT,
} from "./schemas/prompts.js";
export { askStructured, type StructuredAnswer } from "./models/structured-output.js";
export { isUnusableAnswerError, retryTransportFailuresOnly } from "./models/retry-policy.js";
