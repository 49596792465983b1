import { z } from "zod";
import { InvalidInputError } from "../errors.js";
import {
  AGGREGATOR_SYSTEM_PROMPT,
  PLANNER_SYSTEM_PROMPT,
  REVIEWER_SYSTEM_PROMPT,
  VERIFIER_SYSTEM_PROMPT,
  WRITER_SYSTEM_PROMPT,
} from "./prompts.js";
import { PRESET_NAMES, PRESETS, type PresetName } from "./presets.js";
import { PLAN_REVIEW_FORMATS } from "./review.js";
import { DEFAULT_PRICES, ModelPriceSchema } from "./usage.js";

/** Default bound on requests in flight per model client, and on worker tasks running at once. */
export const DEFAULT_MAX_CONCURRENCY = 10;

/** A specialist a section can be assigned to: a name and the background its writer gets. */
export const RoleSchema = z.object({
  name: z.string().trim().min(1).describe("The role's name, as the planner assigns it."),
  background: z
    .string()
    .trim()
    .min(1)
    .describe("What the role knows and how it writes; added to its writer's system prompt."),
  tools: z
    .array(z.string().trim().min(1))
    .optional()
    .describe(
      "Names of the tools the role's writers may call (search_sources, filesystem__read_file, ...); without a list, every tool.",
    ),
});

export type Role = z.infer<typeof RoleSchema>;

/** The default roster: one generalist, so runs without a roster are unchanged. */
export const DEFAULT_ROLES = [
  {
    name: "generalist",
    background: "A careful generalist writer who explains clearly and precisely.",
  },
];

/**
 * How a structured answer (a plan, a synthesis) is asked for: `auto` tries the JSON schema and falls
 * back, per client, to JSON mode and then to the schema in the prompt when a server rejects or
 * ignores it; the others use that one method only.
 */
export const STRUCTURED_OUTPUT_STRATEGIES = [
  "auto",
  "jsonSchema",
  "toolCalling",
  "jsonMode",
  "prompt",
] as const;
export type StructuredOutputStrategy = (typeof STRUCTURED_OUTPUT_STRATEGIES)[number];

/** The `type` values of an MCP server reached by URL, as MCP clients' files spell them. */
export const MCP_HTTP_TYPES = ["http", "streamable-http", "streamableHttp", "sse"] as const;

/**
 * One MCP server, as MCP clients' `mcpServers` files describe it: a command run over stdio, or a
 * URL reached over streamable HTTP (falling back to SSE). The `type` (or `transport`) field that
 * Claude Code, Cursor and VS Code files carry is accepted: `stdio` for a command; `http`,
 * `streamable-http` or `streamableHttp` for a URL (streamable HTTP, then SSE), `sse` for SSE only.
 */
export const McpServerSchema = z.union([
  z
    .object({
      type: z.literal("stdio").optional().describe("stdio: the server is a command (optional)."),
      transport: z.literal("stdio").optional().describe("Another spelling of type."),
      command: z.string().trim().min(1).describe("Program that runs the server over stdio."),
      args: z.array(z.string()).default([]).describe("Its arguments."),
      env: z
        .record(z.string(), z.string())
        .optional()
        .describe("Environment variables for the server process."),
      cwd: z.string().optional().describe("Working directory of the server process."),
    })
    .strict(),
  z
    .object({
      type: z
        .enum(MCP_HTTP_TYPES)
        .optional()
        .describe("http (streamable HTTP, falling back to SSE; the default) or sse (SSE only)."),
      transport: z.enum(MCP_HTTP_TYPES).optional().describe("Another spelling of type."),
      url: z.url({ protocol: /^https?$/ }).describe("The server's streamable HTTP (or SSE) URL."),
      headers: z
        .record(z.string(), z.string())
        .optional()
        .describe("HTTP headers sent with every request (an Authorization header, say)."),
    })
    .strict(),
]);

export type McpServer = z.infer<typeof McpServerSchema>;

/**
 * Key of a run's `configurable` that carries the tools started for that run (the MCP servers' tools
 * of `mcpServers`): objects, not configuration, so they are never validated, stored or traced
 * (LangChain copies only primitive configurable values into metadata). The compiled graph sets it;
 * workers read it beside the tools the graph was built with.
 */
export const RUN_TOOLS_KEY = "__orchestrator_workers_run_tools";

/** The modes of citation checking. */
export const CITATION_CHECKS = ["off", "keys", "llm"] as const;
export type CitationCheck = (typeof CITATION_CHECKS)[number];

/** How a report is assembled: the sections as written, or framed by an aggregator model. */
export const SYNTHESIS_MODES = ["join", "llm"] as const;

/** What an aggregator's synthesis keeps: every section framed, or one combined answer. */
export const SYNTHESIS_OUTPUTS = ["sections", "answer"] as const;

/** Default chat model of every role (planner, writers, aggregator) when none is configured. */
export const DEFAULT_MODEL = "gpt-4.1-mini";

/**
 * Run configuration: one schema with defaults, read from `config.context` or
 * `config.configurable` (see `resolveConfiguration`). Studio shows these fields and defaults.
 */
export const ConfigurationSchema = z.object({
  preset: z
    .enum(PRESET_NAMES)
    .default("report")
    .describe(
      "report: sections joined under a title. qa: one answer per question, framed as an answer sheet. itinerary: transport, lodging and activities, combined into a day-by-day plan. Settings given explicitly win over the preset's.",
    ),
  plannerModel: z
    .string()
    .min(1)
    .default(DEFAULT_MODEL)
    .describe(
      "Chat model that plans the report's sections (the orchestrator). A name of the OpenAI-compatible server, or provider:model for another provider (anthropic:..., ollama:...).",
    ),
  writerModel: z
    .string()
    .min(1)
    .default(DEFAULT_MODEL)
    .describe("Chat model that writes each section (the workers); a name or provider:model."),
  aggregatorModel: z
    .string()
    .min(1)
    .default(DEFAULT_MODEL)
    .describe(
      "Chat model of the aggregator, which frames the report when synthesis is llm; a name or provider:model.",
    ),
  verifierModel: z
    .string()
    .min(1)
    .optional()
    .describe(
      "Chat model that checks cited sentences against their sources (verifyCitations llm); a name or provider:model. Unset, the writer model.",
    ),
  synthesis: z
    .enum(SYNTHESIS_MODES)
    .default("join")
    .describe(
      "join: assemble the sections under a title, as written. llm: an aggregator model adds an introduction, transitions and a conclusion around the sections, whose text is kept as written.",
    ),
  synthesisOutput: z
    .enum(SYNTHESIS_OUTPUTS)
    .default("sections")
    .describe(
      "What the aggregator's synthesis (synthesis llm) keeps. sections: every section, framed by an introduction, transitions and a conclusion. answer: one combined answer in place of the sections (the itinerary preset's day-by-day plan).",
    ),
  aggregatorPrompt: z
    .string()
    .min(1)
    .default(AGGREGATOR_SYSTEM_PROMPT)
    .describe(
      "System prompt of the aggregator (synthesis llm): how to frame or combine the sections. The qa and itinerary presets bring their own.",
    ),
  aggregatorTokenBudget: z
    .number()
    .int()
    .min(100)
    .default(12_000)
    .describe(
      "Most tokens of section text the aggregator reads; above it, it works from a short summary of each section instead.",
    ),
  temperature: z
    .number()
    .min(0)
    .max(2)
    .default(0.2)
    .describe(
      "Sampling temperature of every model (planner, writers, aggregator, verifier, reviewer), from 0 to 2: lower is more predictable.",
    ),
  maxSections: z
    .number()
    .int()
    .min(1)
    .default(8)
    .describe(
      "Most sections a plan may have; the planner is told the bound and longer plans are cut.",
    ),
  plannerPrompt: z
    .string()
    .min(1)
    .default(PLANNER_SYSTEM_PROMPT)
    .describe(
      "System prompt of the planner: how to split the topic into sections. The qa and itinerary presets bring their own.",
    ),
  writerPrompt: z
    .string()
    .min(1)
    .default(WRITER_SYSTEM_PROMPT)
    .describe(
      "System prompt of every section's writer: how to write one section. The qa and itinerary presets bring their own.",
    ),
  maxPlanningRounds: z
    .number()
    .int()
    .min(1)
    .default(1)
    .describe(
      "Planning rounds of a run. Above 1, after each round's sections are written the planner sees what was found and may add sections (within maxSections in all) or declare the plan complete.",
    ),
  maxPlanAttempts: z
    .number()
    .int()
    .min(1)
    .max(10)
    .default(3)
    .describe(
      "Times the planner is asked for a plan when its answer is malformed, does not match the schema, or is empty.",
    ),
  maxConcurrency: z
    .number()
    .int()
    .min(1)
    .default(DEFAULT_MAX_CONCURRENCY)
    .describe(
      "Most requests in flight at once per model client, and most sections written at once per run; further sections wait their turn instead of bursting the provider.",
    ),
  maxRetries: z
    .number()
    .int()
    .min(0)
    .max(10)
    .default(3)
    .describe(
      "Retries of a failed model request (429 honouring Retry-After, 5xx, timeouts, connection resets), with exponential backoff and jitter.",
    ),
  roles: z
    .array(RoleSchema)
    .min(1)
    .refine((roles) => new Set(roles.map((role) => role.name)).size === roles.length, {
      message: "role names must be unique",
    })
    .default(DEFAULT_ROLES)
    .describe(
      "Roster of worker roles. With more than one, the planner assigns each section a role and its writer gets that role's background.",
    ),
  maxWorkerSteps: z
    .number()
    .int()
    .min(1)
    .default(3)
    .describe(
      "Most model calls a tool-using worker makes for its section, the last included; at the limit it writes from what it has.",
    ),
  mcpServers: z
    .record(
      z.string().regex(/^[A-Za-z0-9_-]+$/, "server names are letters, digits, - and _"),
      McpServerSchema,
    )
    .optional()
    .describe(
      'MCP servers whose tools the workers may call, as in an MCP client\'s file: { "<name>": { "command", "args", "env" } or { "url", "headers" } }. Started once per run and closed when it ends; their tools are named <name>__<tool>.',
    ),
  verifyCitations: z
    .enum(CITATION_CHECKS)
    .default("keys")
    .describe(
      "How citations are checked. off: kept as written. keys: a key no tool returned to that worker is removed and warned about. llm: as keys, and a verifier model checks each cited sentence against the cited passage; unsupported ones are marked in the report.",
    ),
  sectionReview: z
    .object({
      enabled: z
        .boolean()
        .default(false)
        .describe("Have a reviewer model grade each written section."),
      maxRevisions: z
        .number()
        .int()
        .min(0)
        .max(10)
        .default(2)
        .describe(
          "Most times a section that fails review is revised by its worker (0: graded only).",
        ),
    })
    .default({ enabled: false, maxRevisions: 2 })
    .describe(
      "Section review: a reviewer model grades each section against its description and the topic; a failing one is revised with the feedback, at most maxRevisions times, then kept with the last feedback recorded.",
    ),
  reviewerModel: z
    .string()
    .min(1)
    .optional()
    .describe(
      "Chat model that reviews sections (sectionReview); a name or provider:model. Unset, the writer model.",
    ),
  reviewerPrompt: z
    .string()
    .min(1)
    .default(REVIEWER_SYSTEM_PROMPT)
    .describe(
      "System prompt of the section reviewer (sectionReview): what a passing section is, and how to word feedback.",
    ),
  verifierPrompt: z
    .string()
    .min(1)
    .default(VERIFIER_SYSTEM_PROMPT)
    .describe(
      "System prompt of the citation verifier (verifyCitations llm): when a passage supports a sentence.",
    ),
  reviewPlan: z
    .boolean()
    .default(false)
    .describe(
      "Pause after planning, before any section is written, so a person can approve the plan, edit it, or send it back with feedback for a new one. Needs a checkpointer (the dev server and the CLI have one).",
    ),
  maxPlanRevisions: z
    .number()
    .int()
    .min(0)
    .default(3)
    .describe(
      "How many times a person reviewing the plan (reviewPlan) may send it back with feedback for a new plan; then it can only be approved or edited.",
    ),
  planReviewFormat: z
    .enum(PLAN_REVIEW_FORMATS)
    .default("plan_review")
    .describe(
      "How plan review (reviewPlan) asks: plan_review, one object with the plan (what the CLI, the SDK examples and examples/web read); or agent_inbox, LangGraph's HumanInterrupt list, which agent-chat-ui and Agent Inbox show with accept, edit and respond buttons. Either form takes either form's answers.",
    ),
  maxTotalTokens: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe(
      "Token budget of a run. Once the run has used this many tokens, no further section is started; those running finish, and the report says what was not written.",
    )
    .meta({ examples: [200_000] }),
  prices: z
    .record(z.string(), ModelPriceSchema)
    .default(DEFAULT_PRICES)
    .describe(
      "Price table for the cost estimate: model name to US dollars per million input and output tokens.",
    ),
  failFast: z
    .boolean()
    .default(false)
    .describe(
      "Stop the whole run at the first section that fails, instead of finishing the others and reporting the failure.",
    ),
  structuredOutput: z
    .enum(STRUCTURED_OUTPUT_STRATEGIES)
    .default("auto")
    .describe(
      "How plans and syntheses are asked for. auto: the JSON schema, falling back (once per client) to JSON mode and then to the schema in the prompt when the server rejects or ignores it; jsonSchema, toolCalling, jsonMode or prompt: that method only. Answers are read tolerantly either way (code fences, reasoning blocks, key casing).",
    ),
  maxOutputTokens: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe(
      "Most tokens a model may write in one answer (sent as max_tokens). Raise it when answers are cut off at the length limit, as reasoning models' often are; unset leaves the server's default.",
    )
    .meta({ examples: [8000] }),
  requestTimeoutMs: z
    .number()
    .int()
    .min(1000)
    // A day; a longer time limit would overflow the timer that enforces it (about 24.8 days).
    .max(86_400_000)
    .default(120_000)
    .describe(
      "Time limit of one model request, the answer's body included, in milliseconds; a request over it is retried (maxRetries).",
    ),
});

/**
 * The configuration fields a generic graph (`createOrchestratorWorkers`) reads: the core's bounds,
 * plan review, planning rounds and a chat-model planner's settings. Its Studio form shows these;
 * the report's other fields (models, prompts, tools, citations) do nothing there.
 */
export const CoreConfigurationSchema = ConfigurationSchema.pick({
  maxSections: true,
  maxConcurrency: true,
  maxPlanningRounds: true,
  maxPlanAttempts: true,
  reviewPlan: true,
  maxPlanRevisions: true,
  planReviewFormat: true,
  maxTotalTokens: true,
  failFast: true,
  structuredOutput: true,
});

/** Configuration as given by a caller: every field optional. */
export type ConfigurationInput = z.input<typeof ConfigurationSchema>;
/** Configuration with defaults applied. */
export type Configuration = z.output<typeof ConfigurationSchema>;

/** The parts of a run's config that carry configuration (LangGraph's `RunnableConfig`). */
export interface ConfigurationSource {
  configurable?: Record<string, unknown>;
  context?: unknown;
}

/**
 * Resolves a run's configuration, the one place that does: fields from `config.configurable`
 * (LangGraph Studio, the SDK, and `invoke(input, { configurable })`) overlaid with
 * `config.context`, over the chosen preset's settings, validated, and defaults filled in. Unknown
 * keys such as `thread_id` are ignored.
 */
export function resolveConfiguration(config?: ConfigurationSource): Configuration {
  const given = givenFields(config);
  // A preset is a set of defaults: what the run sets explicitly wins.
  const preset = PRESETS[(given as { preset?: PresetName }).preset ?? "report"] ?? {};
  const result = ConfigurationSchema.safeParse({ ...preset, ...given });
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.map(String).join(".");
  throw new InvalidInputError({
    field,
    message: `Invalid configuration "${field}": ${issue.message}.`,
    cause: result.error,
  });
}

/** What a run's config gives: `configurable` overlaid with `context`. */
function givenFields(config: ConfigurationSource | undefined): Record<string, unknown> {
  return {
    ...(config?.configurable ?? {}),
    ...((config?.context as Record<string, unknown> | undefined) ?? {}),
  };
}

/** The fields a configuration is read from, and the last result of `runConfiguration`. */
const CONFIGURATION_KEYS = Object.keys(ConfigurationSchema.shape);
let lastResolved: { values: unknown[]; objects: string; result: Configuration } | undefined;

/**
 * The configuration a node runs with: `resolveConfiguration`, once per set of values. Every task
 * of a step resolves the same values (LangGraph gives each task its own copy of them), and parsing
 * them once per task was a tenth of a zero-latency section's cost, so the nodes share one result.
 * It is a frozen copy, nested objects too, so no node can change what another reads; a caller
 * that wants its own copy to change uses `resolveConfiguration`. The values are compared as they
 * are, and objects also by content, so one changed in place between runs is a new configuration.
 */
export function runConfiguration(config?: ConfigurationSource): Configuration {
  const given = givenFields(config);
  const values = CONFIGURATION_KEYS.map((key) => given[key]);
  const objects = values.some((value) => typeof value === "object" && value !== null)
    ? JSON.stringify(values.filter((value) => typeof value === "object"))
    : "";
  if (
    lastResolved?.objects === objects &&
    values.every((value, index) => value === lastResolved!.values[index])
  )
    return lastResolved.result;
  // A copy to freeze: zod's result shares objects with the defaults (DEFAULT_ROLES' roles).
  const result = deepFreeze(structuredClone(resolveConfiguration(config)));
  lastResolved = { values, objects, result };
  return result;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}
