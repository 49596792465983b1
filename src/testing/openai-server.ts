import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { PlannedSection } from "../schemas/section.js";
import {
  STRUCTURED_KINDS,
  readBody,
  type RecordedRequestBase,
  type StructuredKind,
} from "./http.js";
import { sectionNameOf } from "./scripted-chat-model.js";

/** A chat-completions request as the server received it. */
export interface RecordedRequest extends RecordedRequestBase {
  body: ChatCompletionBody;
  /** The usage the server reported in its answer. */
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

interface ChatCompletionBody {
  model: string;
  messages: { role: string; content: unknown }[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  response_format?: { type: string; json_schema?: { name: string } };
  tools?: { type: string; function: { name: string } }[];
  tool_choice?: unknown;
}

/** What the server answers to one request; the default follows the plan and writes short sections. */
export type ServerReply =
  | { content: string }
  | { toolCall: { name: string; arguments: string } }
  | { status: number; body?: unknown; headers?: Record<string, string> }
  /**
   * `reset` drops the connection without an answer; `hang` never answers; `stall-body` sends the
   * status and headers of a 200 and then nothing more.
   */
  | { fault: "reset" | "hang" | "stall-body" };

/**
 * A way a real OpenAI-compatible server (Ollama, vLLM, llama.cpp, LM Studio, reasoning models)
 * departs from OpenAI, imitated on the wire. Each names the public report it copies; where a report
 * quotes the bytes (error bodies, say), they are copied exactly.
 *
 * Structured requests are the ones `kind` calls "plan" or "synthesis": a `json_schema`
 * `response_format`, a forced tool, or (no response format, or `json_object`) a message holding
 * `<Output schema name="plan">` or `<Output schema name="synthesis">`. The answer quirks (fenced,
 * prose, think, reasoning field, prose only) change only those not forcing a tool; a forced tool
 * is still answered with a tool call. The first answer quirk in the list wins, and so do the first
 * rejection and the first envelope quirk; plan-shape quirks combine.
 */
export type ServerQuirk =
  /** JSON schema ignored, JSON in a ```json fence: misospace/pr-reviewer-action#449. */
  | "json-schema-ignored-fenced"
  /** JSON schema ignored, JSON between prose: ollama/ollama#10001. */
  | "json-schema-ignored-prose"
  /** JSON schema ignored, prose and no JSON: callstackincubator/fabrice-ai#118. */
  | "json-schema-ignored-prose-only"
  /** A `<think>` block before the JSON in `content`: deepseek-ai/DeepSeek-R1#23. */
  | "think-before-json"
  /**
   * `content: ""`, the JSON in `reasoning_content`, `tool_calls: []`:
   * lmstudio-ai/lmstudio-bug-tracker#1698 (same in vllm-project/vllm#15618, with `content: null`).
   */
  | "json-in-reasoning-content"
  /** Plan keys `Sections`, `Name`, `Description`, `DependsOn`: ollama/ollama#8162. */
  | "capitalized-keys"
  /** The plan wrapped as `{"plan": {"sections": [...]}}`: ollama/ollama#8162. */
  | "wrapped-plan"
  /** `dependsOn` as section names, not ids: ollama/ollama#8162. */
  | "depends-on-names"
  /** `dependsOn` as 1-based position strings ("1", "2"): ollama/ollama#8162. */
  | "depends-on-positions"
  /** `dependsOn` as 1-based position numbers (1, 2): ollama/ollama#8162. */
  | "depends-on-numbers"
  /**
   * `json_schema` answered 400 with vLLM's old flat error body (pydantic message approximate, no
   * paste found): vllm-project/vllm#7654 (support added), body shape from vllm-project/vllm#12886.
   */
  | "reject-json-schema-vllm"
  /** `json_schema` answered 500 by old llama-server: ggml-org/llama.cpp#9522. */
  | "reject-json-schema-llamacpp"
  /** `json_object` answered 400, a string error: lmstudio-ai/lmstudio-bug-tracker#189. */
  | "reject-json-object-lmstudio"
  /** Section text starts with a `<think>` block: RooCodeInc/Roo-Code#1566. */
  | "think-in-sections"
  /**
   * A tool call sent as fenced JSON text in `content` (`name` and `parameters`), no `tool_calls`,
   * finish_reason "stop": ollama/ollama#13519.
   */
  | "tool-call-as-content"
  /** `tool_calls[].function.arguments` as a JSON object, not a string: ggml-org/llama.cpp#20198. */
  | "tool-arguments-as-object"
  /** Any request with tools answered 400 "does not support tools": ollama/ollama#6027. */
  | "no-tools-ollama"
  /**
   * Tools with `tool_choice` "auto" or none answered 400 with vLLM's flat body:
   * langchain4j/langchain4j#3475.
   */
  | "no-tools-vllm"
  /** Any request with tools answered 500 "requires --jinja": containers/ramalama#988. */
  | "no-tools-llamacpp"
  /** Section requests answered 200 with `choices: []`: n8n-io/n8n#37959. */
  | "empty-choices"
  /** Section requests answered `content: null`, finish "stop": vllm-project/vllm#45736. */
  | "null-content"
  /** Section requests answered `content: ""`, finish "length": promptfoo/promptfoo#10954. */
  | "length-cut"
  /** No `usage` in any answer, streamed or not: vllm-project/vllm#7299, vllm-project/vllm#6083. */
  | "no-usage"
  /**
   * The concurrency-limit 429 body is `{"error":"Too many requests"}`, a string error as LM Studio
   * and Ollama's native API send: lmstudio-ai/lmstudio-bug-tracker#189, ollama/ollama#14795.
   */
  | "error-as-string-body";

/** A section of the `plan` option; `dependsOn` holds ids (s1 for the first section, ...). */
export type ServerPlanSection = PlannedSection & { dependsOn?: string[]; role?: string };

export interface OpenAIServerOptions {
  /** Sections a planning request gets. */
  plan?: ServerPlanSection[];
  /** Raw plan answer (JSON text) instead of `{ sections: plan }`, for malformed-output tests. */
  planText?: string;
  /** Answers 429 to requests beyond this many in flight, as a provider with a concurrency limit does. */
  concurrencyLimit?: number;
  /** Adds `retry-after-ms` and `retry-after` (whole seconds, rounded up) to `concurrencyLimit` 429s. */
  concurrencyRetryAfterMs?: number;
  /**
   * Requests a window allows, as OpenAI's requests-per-minute limit: beyond, 429 with
   * `retry-after`, `retry-after-ms` and the `x-ratelimit-*` headers (see `tokensPerMinute`).
   */
  requestsPerMinute?: number;
  /**
   * Tokens a window allows, as OpenAI's tokens-per-minute limit. A request is charged its prompt
   * tokens (as `usage` counts them) plus its `max_tokens` when it arrives, and its answer's tokens
   * when answered if it set no `max_tokens`; one that would go over is answered 429 with
   * `retry-after` (seconds, rounded up), `retry-after-ms` (until the window ends) and the headers
   * below. With either per-minute limit, every answer carries `x-ratelimit-limit-*`,
   * `x-ratelimit-remaining-*` and `x-ratelimit-reset-*` (`requests` and `tokens`, the reset as
   * OpenAI writes it: "1.2s", "340ms").
   */
  tokensPerMinute?: number;
  /** The length of the per-minute limits' window, fixed windows from the first request (default 60 000 ms). */
  rateLimitWindowMs?: number;
  /** Milliseconds before answering a request. */
  latencyMs?: number | ((request: RecordedRequest) => number);
  /**
   * Overrides the default answer when it returns something; its answer is sent as given: quirks
   * shape only the default answer, except `no-usage`, which applies to every answer.
   */
  respond?: (request: RecordedRequest) => ServerReply | undefined;
  /** Ways of real servers to imitate (see `ServerQuirk`); none by default (OpenAI's behaviour). */
  quirks?: ServerQuirk[];
}

/** A running local OpenAI-compatible server. */
export interface OpenAIServer {
  /** Base URL to give `ChatOpenAI` (`configuration.baseURL`) or `OPENAI_BASE_URL`. */
  baseURL: string;
  requests: RecordedRequest[];
  /** Most requests that were in flight at once. */
  maxInFlight(): number;
  /** Requests answered with 429 because of `concurrencyLimit`. */
  rejected(): number;
  /** Requests answered with 429 because of `requestsPerMinute` or `tokensPerMinute`. */
  rateLimited(): number;
  planRequests(): RecordedRequest[];
  sectionRequests(): RecordedRequest[];
  close(): Promise<void>;
}
/**
 * Starts an OpenAI-compatible chat-completions server on 127.0.0.1 (a free port). It answers
 * structured requests (`response_format: json_schema`, or a prompt holding an
 * `<Output schema name="...">` block) with JSON content, forced tool calls with a tool call, other
 * requests with section text, and `stream: true` with server-sent events; usage is reported.
 * `quirks` make it answer as a given real server does instead.
 */
export async function startOpenAIServer(options: OpenAIServerOptions = {}): Promise<OpenAIServer> {
  const quirks = new Set(options.quirks ?? []);
  const requests: RecordedRequest[] = [];
  let counter = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let rejected = 0;
  const window = createRateWindow(options);

  const server = createServer((request, response) => {
    void handle(request, response).catch((error: unknown) => {
      response.statusCode = 500;
      response.end(JSON.stringify({ error: { message: String(error) } }));
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse) {
    if (request.method === "GET" && request.url === "/stats") {
      response.writeHead(200, { "content-type": "application/json" });
      response.end(
        JSON.stringify({
          requests: requests.length,
          rejected,
          rateLimited: window.rateLimited(),
          maxInFlight,
          tokens: requests.reduce(
            (total, recorded) => total + (recorded.usage?.total_tokens ?? 0),
            0,
          ),
        }),
      );
      return;
    }
    if (request.method !== "POST" || !request.url?.endsWith("/chat/completions")) {
      response.statusCode = 404;
      response.end(
        JSON.stringify({ error: { message: `No route ${request.method} ${request.url}` } }),
      );
      return;
    }
    const body = JSON.parse(await readBody(request)) as ChatCompletionBody;
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    response.on("close", () => (inFlight -= 1));
    if (options.concurrencyLimit !== undefined && inFlight > options.concurrencyLimit) {
      rejected += 1;
      const wait = options.concurrencyRetryAfterMs;
      response.writeHead(429, {
        "content-type": "application/json",
        ...(wait === undefined
          ? {}
          : { "retry-after-ms": String(wait), "retry-after": String(Math.ceil(wait / 1000)) }),
      });
      response.end(
        JSON.stringify(
          quirks.has("error-as-string-body")
            ? { error: "Too many requests" }
            : { error: { message: "Too many concurrent requests", type: "rate_limit" } },
        ),
      );
      return;
    }
    const charged = window.admit(body);
    if (!charged) {
      response.writeHead(429, { "content-type": "application/json", ...window.refusalHeaders() });
      response.end(
        JSON.stringify({
          error: {
            message: "Rate limit reached for requests or tokens per minute",
            type: "requests",
            code: "rate_limit_exceeded",
          },
        }),
      );
      return;
    }
    const prompt = firstUserText(body);
    const forcedTool = forcedToolName(body);
    const kind = kindOf(body, forcedTool);
    const recorded: RecordedRequest = {
      body,
      headers: request.headers,
      kind,
      sectionName: kind === "section" ? sectionNameOf(prompt) : undefined,
      prompt,
      receivedAt: Date.now(),
      tools: (body.tools ?? []).map((candidate) => candidate.function.name),
      toolResults: body.messages
        .filter((message) => message.role === "tool")
        .map((message) =>
          typeof message.content === "string" ? message.content : JSON.stringify(message.content),
        ),
    };
    requests.push(recorded);

    const latency =
      typeof options.latencyMs === "function"
        ? options.latencyMs(recorded)
        : (options.latencyMs ?? 0);
    if (latency > 0) await new Promise((resolve) => setTimeout(resolve, latency));

    const reply = options.respond?.(recorded);
    if (reply && "fault" in reply) {
      if (reply.fault === "reset") request.socket.destroy();
      if (reply.fault === "stall-body") {
        response.writeHead(200, { "content-type": "application/json" });
        response.flushHeaders();
      }
      return; // "hang" and "stall-body": close() ends the connection.
    }
    if (reply && "status" in reply) {
      response.writeHead(reply.status, { "content-type": "application/json", ...reply.headers });
      response.end(JSON.stringify(reply.body ?? { error: { message: `status ${reply.status}` } }));
      return;
    }
    const rejection = reply ? undefined : rejectionFor(body, quirks);
    if (rejection) {
      response.writeHead(rejection.status, rejection.headers);
      response.end(rejection.text);
      return;
    }
    const completion = reply
      ? completionOf(reply)
      : defaultCompletion(recorded, forcedTool, options, quirks);
    const id = `chatcmpl-${++counter}`;
    const message = messageOf(completion, `call_${counter}`);
    const usage = {
      prompt_tokens: Math.ceil(JSON.stringify(body.messages).length / 4),
      completion_tokens: Math.ceil(completionText(completion).length / 4),
      total_tokens: 0,
    };
    usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
    if (charged.maxTokens === undefined) window.charge(usage.completion_tokens);
    const reportUsage = !quirks.has("no-usage");
    if (reportUsage) recorded.usage = usage;
    const finishReason = completion.finishReason;
    const created = Math.floor(Date.now() / 1000);

    if (!body.stream) {
      response.writeHead(200, { "content-type": "application/json", ...window.headers() });
      response.end(
        JSON.stringify({
          id,
          object: "chat.completion",
          created,
          model: body.model,
          choices: completion.noChoice
            ? []
            : [{ index: 0, message, finish_reason: finishReason, logprobs: null }],
          ...(reportUsage ? { usage } : {}),
        }),
      );
      return;
    }

    response.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      ...window.headers(),
    });
    const send = (payload: unknown) => response.write(`data: ${JSON.stringify(payload)}\n\n`);
    const chunk = (delta: unknown, finish: string | null = null) => ({
      id,
      object: "chat.completion.chunk",
      created,
      model: body.model,
      choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
    });
    if (!completion.noChoice) {
      send(chunk({ role: "assistant", content: "" }));
      for (const piece of words(completion.reasoningContent)) {
        send(chunk({ reasoning_content: piece }));
      }
      if (message.tool_calls?.[0]) {
        send(chunk({ tool_calls: [{ index: 0, ...message.tool_calls[0] }] }));
      } else {
        for (const piece of words(completion.content)) send(chunk({ content: piece }));
      }
      send(chunk({}, finishReason));
    }
    if (body.stream_options?.include_usage && reportUsage) {
      send({ id, object: "chat.completion.chunk", created, model: body.model, choices: [], usage });
    }
    response.write("data: [DONE]\n\n");
    response.end();
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    maxInFlight: () => maxInFlight,
    rejected: () => rejected,
    rateLimited: () => window.rateLimited(),
    planRequests: () => requests.filter((request) => request.kind === "plan"),
    sectionRequests: () => requests.filter((request) => request.kind === "section"),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// --- Per-minute limits ---------------------------------------------------------------------------

/** Fixed windows of `rateLimitWindowMs` from the first request, counting requests and tokens. */
function createRateWindow(options: OpenAIServerOptions) {
  const { requestsPerMinute, tokensPerMinute } = options;
  const length = options.rateLimitWindowMs ?? 60_000;
  const limited = requestsPerMinute !== undefined || tokensPerMinute !== undefined;
  let start: number | undefined;
  let index = 0;
  let requestsUsed = 0;
  let tokensUsed = 0;
  let refused = 0;
  /** Moves to the window `now` falls in, emptying the counts. */
  const roll = () => {
    const now = Date.now();
    start ??= now;
    const current = Math.floor((now - start) / length);
    if (current !== index) {
      index = current;
      requestsUsed = 0;
      tokensUsed = 0;
    }
    return start + (index + 1) * length - now;
  };
  const duration = (ms: number) =>
    ms >= 1000 ? `${(ms / 1000).toFixed(3)}s` : `${Math.ceil(ms)}ms`;
  const headers = (): Record<string, string> => {
    if (!limited) return {};
    const reset = duration(roll());
    return {
      ...(requestsPerMinute === undefined
        ? {}
        : {
            "x-ratelimit-limit-requests": String(requestsPerMinute),
            "x-ratelimit-remaining-requests": String(Math.max(0, requestsPerMinute - requestsUsed)),
            "x-ratelimit-reset-requests": reset,
          }),
      ...(tokensPerMinute === undefined
        ? {}
        : {
            "x-ratelimit-limit-tokens": String(tokensPerMinute),
            "x-ratelimit-remaining-tokens": String(Math.max(0, tokensPerMinute - tokensUsed)),
            "x-ratelimit-reset-tokens": reset,
          }),
    };
  };
  return {
    /** Charges a request that fits the window and returns what it set; undefined when it does not fit. */
    admit(body: ChatCompletionBody): { maxTokens?: number } | undefined {
      const raw = body as ChatCompletionBody & {
        max_tokens?: number;
        max_completion_tokens?: number;
      };
      const maxTokens = raw.max_tokens ?? raw.max_completion_tokens;
      if (!limited) return { maxTokens };
      roll();
      const tokens = Math.ceil(JSON.stringify(body.messages).length / 4) + (maxTokens ?? 0);
      if (
        (requestsPerMinute !== undefined && requestsUsed + 1 > requestsPerMinute) ||
        (tokensPerMinute !== undefined && tokensUsed + tokens > tokensPerMinute)
      ) {
        refused += 1;
        return undefined;
      }
      requestsUsed += 1;
      tokensUsed += tokens;
      return { maxTokens };
    },
    /** Charges an answer's tokens (in the window it is answered in). */
    charge(tokens: number) {
      if (!limited) return;
      roll();
      tokensUsed += tokens;
    },
    headers,
    refusalHeaders(): Record<string, string> {
      const wait = roll();
      return {
        ...headers(),
        "retry-after": String(Math.ceil(wait / 1000)),
        "retry-after-ms": String(Math.ceil(wait)),
      };
    },
    rateLimited: () => refused,
  };
}

// --- Classifying requests ----------------------------------------------------------------------

/**
 * "plan" or "synthesis" for structured requests: by the JSON schema's or forced tool's name, or,
 * asked in the prompt (no response format, or `json_object`), by the `<Output schema name="...">`
 * block a message holds; "section" otherwise.
 */
function kindOf(body: ChatCompletionBody, forcedTool: string | undefined): RecordedRequest["kind"] {
  const format = body.response_format?.type;
  if (forcedTool || format === "json_schema") {
    const name = forcedTool ?? body.response_format?.json_schema?.name;
    return STRUCTURED_KINDS.find((kind) => kind === name) ?? "plan";
  }
  const texts = body.messages.map(messageText);
  return (
    STRUCTURED_KINDS.find((kind) =>
      texts.some((text) => text.includes(`<Output schema name="${kind}">`)),
    ) ?? "section"
  );
}

function forcedToolName(body: ChatCompletionBody): string | undefined {
  const choice = body.tool_choice as { type?: string; function?: { name?: string } } | undefined;
  return choice?.type === "function" ? choice.function?.name : undefined;
}

function firstUserText(body: ChatCompletionBody): string {
  const user = body.messages.find((message) => message.role === "user");
  return user ? messageText(user) : "";
}

function messageText(message: { content: unknown }): string {
  if (typeof message.content === "string") return message.content;
  if (!Array.isArray(message.content)) return "";
  return (message.content as { type: string; text?: string }[])
    .map((part) => part.text ?? "")
    .join("");
}

// --- Answers -----------------------------------------------------------------------------------

/** An answer before it goes on the wire: the assistant message and how the choice ended. */
interface Completion {
  content: string | null;
  reasoningContent?: string;
  toolCall?: { name: string; arguments: string | Record<string, unknown> };
  /** `tool_calls: []` next to a content answer, as LM Studio sends. */
  emptyToolCalls?: boolean;
  finishReason: "stop" | "tool_calls" | "length";
  /** `choices: []` instead of the one choice. */
  noChoice?: boolean;
}

function completionOf(reply: { content: string } | { toolCall: ToolCall }): Completion {
  return "content" in reply
    ? { content: reply.content, finishReason: "stop" }
    : { content: null, toolCall: reply.toolCall, finishReason: "tool_calls" };
}

type ToolCall = { name: string; arguments: string };

function messageOf(completion: Completion, callId: string) {
  const message: {
    role: "assistant";
    content: string | null;
    reasoning_content?: string;
    tool_calls?: { id: string; type: "function"; function: Completion["toolCall"] }[];
  } = { role: "assistant", content: completion.content };
  if (completion.reasoningContent !== undefined) {
    message.reasoning_content = completion.reasoningContent;
  }
  if (completion.toolCall) {
    message.tool_calls = [{ id: callId, type: "function", function: completion.toolCall }];
  } else if (completion.emptyToolCalls) {
    message.tool_calls = [];
  }
  return message;
}

/** The text usage is counted on: content, reasoning and tool arguments. */
function completionText(completion: Completion): string {
  const args = completion.toolCall?.arguments;
  return (
    (completion.content ?? "") +
    (completion.reasoningContent ?? "") +
    (args === undefined ? "" : typeof args === "string" ? args : JSON.stringify(args))
  );
}

/** Streaming pieces of a text: a word and the space after it. */
function words(text: string | null | undefined): string[] {
  return text?.match(/\S+\s*|\s+/g) ?? [];
}

/** The answer when `respond` gives none: the plan, synthesis or section, quirks applied. */
function defaultCompletion(
  request: RecordedRequest,
  forcedTool: string | undefined,
  options: OpenAIServerOptions,
  quirks: Set<ServerQuirk>,
): Completion {
  if (request.kind === "section") {
    return applyEnvelope(sectionCompletion(request, quirks), quirks);
  }
  const answer = structuredAnswer(request.kind, options, quirks);
  if (forcedTool) {
    return toolCallCompletion({ name: forcedTool, arguments: answer.compact }, quirks);
  }
  const deliver = firstOf(STRUCTURED_DELIVERY, quirks);
  return deliver
    ? deliver(answer, request.kind)
    : { content: answer.compact, finishReason: "stop" };
}

/** A section's answer: a search first when tools are offered, then text citing what came back. */
function sectionCompletion(request: RecordedRequest, quirks: Set<ServerQuirk>): Completion {
  const name = request.sectionName ?? "(unknown)";
  if (request.tools.length > 0 && request.toolResults.length === 0) {
    const call = { name: request.tools[0]!, arguments: JSON.stringify({ query: name }) };
    return toolCallCompletion(call, quirks);
  }
  const keys = request.toolResults.flatMap((result) => {
    try {
      return ((JSON.parse(result) as { results?: { key: string }[] }).results ?? []).map(
        (item) => item.key,
      );
    } catch {
      return [];
    }
  });
  // A client that cannot use tools puts what it looked up in the prompt, in a <Sources> block.
  const prompted = request.body.messages
    .map((message) => (typeof message.content === "string" ? message.content : ""))
    .join("\n");
  const block = /<Sources>\n([\s\S]*?)\n<\/Sources>/.exec(prompted)?.[1] ?? "";
  const looked = [...block.matchAll(/"key":"([^"]+)"/g)].map((match) => match[1]!);
  const cited = keys.length ? keys : looked;
  const citations = cited.length ? ` ${cited.map((key) => `[${key}]`).join(" ")}` : "";
  const text = `Text of section "${name}".${citations}\n\nMore about ${name}.`;
  const think = quirks.has("think-in-sections")
    ? "<think>\nLet me plan this section.\n</think>\n\n"
    : "";
  return { content: think + text, finishReason: "stop" };
}

// --- Structured answers: their JSON, its shape, and how it is delivered -------------------------

/** A structured answer's JSON text, compact and pretty-printed (`planText` as given for both). */
interface JsonAnswer {
  compact: string;
  pretty: string;
}

function structuredAnswer(
  kind: StructuredKind,
  options: OpenAIServerOptions,
  quirks: Set<ServerQuirk>,
): JsonAnswer {
  if (kind === "plan" && options.planText !== undefined) {
    return { compact: options.planText, pretty: options.planText };
  }
  const value =
    kind === "plan" ? shapePlan(options.plan ?? [], quirks) : DEFAULT_STRUCTURED_ANSWERS[kind];
  return { compact: JSON.stringify(value), pretty: JSON.stringify(value, null, 2) };
}

/** What structured requests other than plans get when `respond` scripts nothing. */
const DEFAULT_STRUCTURED_ANSWERS: Record<Exclude<StructuredKind, "plan">, unknown> = {
  synthesis: {
    introduction: "Server introduction.",
    transitions: [],
    conclusion: "Server conclusion.",
    answer: "Server answer.",
  },
  // No verdicts: the claims stay unchecked unless a test scripts the verifier.
  verification: { verdicts: [] },
  review: { pass: true, feedback: "", followUpQueries: [] },
  judge: {},
};

/** How an id in `dependsOn` ("s2") is written, per quirk; other ids are kept. */
const DEPENDS_ON: Record<
  Extract<ServerQuirk, `depends-on-${string}`>,
  (target: ServerPlanSection, position: number) => string | number
> = {
  "depends-on-names": (target) => target.name,
  "depends-on-positions": (_target, position) => String(position),
  "depends-on-numbers": (_target, position) => position,
};

/** The plan value `{ sections }`, rewritten by the plan-shape quirks (they combine). */
function shapePlan(plan: ServerPlanSection[], quirks: Set<ServerQuirk>): unknown {
  const rewrite = firstOf(DEPENDS_ON, quirks);
  const sections = plan.map((section) =>
    rewrite && section.dependsOn
      ? {
          ...section,
          dependsOn: section.dependsOn.map((id) => {
            const position = /^s(\d+)$/.exec(id) ? Number(id.slice(1)) : 0;
            const target = plan[position - 1];
            return target ? rewrite(target, position) : id;
          }),
        }
      : section,
  );
  let value: unknown = { sections };
  if (quirks.has("capitalized-keys")) value = capitalizedKeys(value);
  if (quirks.has("wrapped-plan")) value = { plan: value };
  return value;
}

function capitalizedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(capitalizedKeys);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [
      key.charAt(0).toUpperCase() + key.slice(1),
      capitalizedKeys(item),
    ]),
  );
}

/** How a structured answer not forced through a tool comes back, per quirk. */
const STRUCTURED_DELIVERY: Record<
  Extract<
    ServerQuirk,
    `json-schema-ignored-${string}` | "think-before-json" | "json-in-reasoning-content"
  >,
  (answer: JsonAnswer, kind: StructuredKind) => Completion
> = {
  "json-schema-ignored-fenced": (answer) => text("```json\n" + answer.pretty + "\n```"),
  "json-schema-ignored-prose": (answer, kind) =>
    text(`Here is the ${kind}:\n${answer.pretty}\nLet me know if you need changes.`),
  "json-schema-ignored-prose-only": (_answer, kind) =>
    text(
      kind === "plan"
        ? "A good report on this would start with the background, then explain the main mechanisms, and end with a summary of what they add up to."
        : "The sections fit together well: the introduction sets the scene and the conclusion sums up the findings.",
    ),
  "think-before-json": (answer, kind) =>
    text(`<think>\nThe user wants a ${kind}...\n</think>\n\n${answer.compact}`),
  "json-in-reasoning-content": (answer) => ({
    content: "",
    reasoningContent: answer.pretty,
    emptyToolCalls: true,
    finishReason: "stop",
  }),
};

function text(content: string): Completion {
  return { content, finishReason: "stop" };
}

// --- Tool calls and envelopes -------------------------------------------------------------------

/** A tool call (a worker's search, a forced structured answer) as the tool-call quirks send it. */
function toolCallCompletion(call: ToolCall, quirks: Set<ServerQuirk>): Completion {
  const args = parsedOrRaw(call.arguments); // `planText` may be malformed on purpose
  if (quirks.has("tool-call-as-content")) {
    const json = spacedJson({ name: call.name, parameters: args });
    return text("```json\n" + json + "\n```");
  }
  const toolCall =
    quirks.has("tool-arguments-as-object") && typeof args === "object" && args !== null
      ? { name: call.name, arguments: args as Record<string, unknown> }
      : call;
  return { content: null, toolCall, finishReason: "tool_calls" };
}

function parsedOrRaw(json: string): unknown {
  try {
    return JSON.parse(json) as unknown;
  } catch {
    return json;
  }
}

/** JSON with a space after `:` and `,`, as Python's `json.dumps` and models write it. */
function spacedJson(value: unknown): string {
  return JSON.stringify(value, null, 1)
    .replace(/,\n\s*/g, ", ")
    .replace(/\n\s*/g, "");
}

/** What a section answer becomes under an envelope quirk. */
const ENVELOPES: Record<
  Extract<ServerQuirk, "empty-choices" | "null-content" | "length-cut">,
  Completion
> = {
  "empty-choices": { content: null, finishReason: "stop", noChoice: true },
  "null-content": { content: null, finishReason: "stop" },
  "length-cut": { content: "", finishReason: "length" },
};

function applyEnvelope(completion: Completion, quirks: Set<ServerQuirk>): Completion {
  return firstOf(ENVELOPES, quirks) ?? completion;
}

// --- Rejections ---------------------------------------------------------------------------------

/** An HTTP error as a given server writes it: status, headers and the exact body bytes. */
interface WireError {
  status: number;
  headers: Record<string, string>;
  text: string;
}

/** Headers as each server sends them with JSON (Ollama as quoted in ollama/ollama#6027). */
const JSON_HEADERS = {
  ollama: { "content-type": "application/json" },
  vllm: { "content-type": "application/json" },
  llamacpp: { "content-type": "application/json; charset=utf-8" },
  lmstudio: { "content-type": "application/json; charset=utf-8", "x-powered-by": "Express" },
};

/** vLLM before 0.10.1: the error fields at the top level, not under `error`. */
function vllmFlatError(message: string): WireError {
  const body = { object: "error", message, type: "BadRequestError", param: null, code: 400 };
  return { status: 400, headers: JSON_HEADERS.vllm, text: JSON.stringify(body) };
}

const hasTools = (body: ChatCompletionBody) => (body.tools?.length ?? 0) > 0;
const formatIs = (type: string) => (body: ChatCompletionBody) =>
  body.response_format?.type === type;

/** The requests each rejection quirk refuses, and the error it answers. */
const REJECTIONS: Record<
  Extract<ServerQuirk, `reject-${string}` | `no-tools-${string}`>,
  { refuses: (body: ChatCompletionBody) => boolean; error: WireError }
> = {
  "reject-json-schema-vllm": {
    refuses: formatIs("json_schema"),
    error: vllmFlatError(
      "1 validation error for ChatCompletionRequest\nresponse_format.type\n  Input should be 'text' or 'json_object' [type=literal_error, input_value='json_schema', input_type=str]",
    ),
  },
  "reject-json-schema-llamacpp": {
    refuses: formatIs("json_schema"),
    error: {
      status: 500,
      headers: JSON_HEADERS.llamacpp,
      text: JSON.stringify({
        error: {
          code: 500,
          message:
            'response_format type must be one of "text" or "json_object", but got: json_schema',
          type: "server_error",
        },
      }),
    },
  },
  "reject-json-object-lmstudio": {
    refuses: formatIs("json_object"),
    error: {
      status: 400,
      headers: JSON_HEADERS.lmstudio,
      text: JSON.stringify({ error: "'response_format.type' must be 'json_schema' or 'text'" }),
    },
  },
  "no-tools-ollama": {
    refuses: hasTools,
    error: {
      status: 400,
      headers: JSON_HEADERS.ollama,
      text:
        JSON.stringify({
          error: {
            message: "registry.ollama.ai/library/gemma:2b does not support tools",
            type: "api_error",
            param: null,
            code: null,
          },
        }) + "\n",
    },
  },
  "no-tools-vllm": {
    refuses: (body) =>
      hasTools(body) && (body.tool_choice === undefined || body.tool_choice === "auto"),
    error: vllmFlatError(
      '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set',
    ),
  },
  "no-tools-llamacpp": {
    refuses: hasTools,
    error: {
      status: 500,
      headers: JSON_HEADERS.llamacpp,
      text: JSON.stringify({
        error: { code: 500, message: "tools param requires --jinja flag", type: "server_error" },
      }),
    },
  },
};

/** The error of the first rejection quirk (in the order given) that refuses the request. */
function rejectionFor(body: ChatCompletionBody, quirks: Set<ServerQuirk>): WireError | undefined {
  for (const quirk of quirks) {
    if (!Object.hasOwn(REJECTIONS, quirk)) continue;
    const rejection = REJECTIONS[quirk as keyof typeof REJECTIONS];
    if (rejection.refuses(body)) return rejection.error;
  }
  return undefined;
}

/** The entry of `table` for the first of `quirks` (in the order given) that has one. */
function firstOf<K extends ServerQuirk, V>(
  table: Record<K, V>,
  quirks: Set<ServerQuirk>,
): V | undefined {
  for (const quirk of quirks) {
    if (Object.hasOwn(table, quirk)) return table[quirk as K];
  }
  return undefined;
}
