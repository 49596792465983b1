import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { PlannedSection } from "../schemas/section.js";
import { readBody } from "./http.js";
import { sectionNameOf } from "./scripted-chat-model.js";

/** A chat-completions request as the server received it. */
export interface RecordedRequest {
  body: ChatCompletionBody;
  headers: IncomingMessage["headers"];
  /** "plan" for planning requests, "synthesis" for the aggregator's, "section" for writing. */
  kind: "plan" | "section" | "synthesis";
  /** The section a writing request is for. */
  sectionName?: string;
  /** The first user message's text: the planner's or the writer's task. */
  prompt: string;
  /** Names of the tools offered with the request. */
  tools: string[];
  /** Contents of the tool results in the conversation so far. */
  toolResults: string[];
  /** When the server received it (`Date.now()`). */
  receivedAt: number;
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
  /** `reset` drops the connection without an answer; `hang` never answers. */
  | { fault: "reset" | "hang" };

export interface OpenAIServerOptions {
  /** Sections a planning request gets. */
  plan?: PlannedSection[];
  /** Raw plan answer (JSON text) instead of `{ sections: plan }`, for malformed-output tests. */
  planText?: string;
  /** Answers 429 to requests beyond this many in flight, as a provider with a concurrency limit does. */
  concurrencyLimit?: number;
  /** Milliseconds before answering a request. */
  latencyMs?: number | ((request: RecordedRequest) => number);
  /** Overrides the default answer when it returns something. */
  respond?: (request: RecordedRequest) => ServerReply | undefined;
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
  planRequests(): RecordedRequest[];
  sectionRequests(): RecordedRequest[];
  close(): Promise<void>;
}

/**
 * Starts an OpenAI-compatible chat-completions server on 127.0.0.1 (a free port). It answers
 * `response_format: json_schema` with JSON content, forced tool calls with a tool call, other
 * requests with section text, and `stream: true` with server-sent events; usage is reported.
 */
export async function startOpenAIServer(options: OpenAIServerOptions = {}): Promise<OpenAIServer> {
  const requests: RecordedRequest[] = [];
  let counter = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let rejected = 0;

  const server = createServer((request, response) => {
    void handle(request, response).catch((error: unknown) => {
      response.statusCode = 500;
      response.end(JSON.stringify({ error: { message: String(error) } }));
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse) {
    if (request.method === "GET" && request.url === "/stats") {
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ requests: requests.length, rejected, maxInFlight }));
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
      response.writeHead(429, { "content-type": "application/json" });
      response.end(
        JSON.stringify({ error: { message: "Too many concurrent requests", type: "rate_limit" } }),
      );
      return;
    }
    const prompt = firstUserText(body);
    const forcedTool = forcedToolName(body);
    const structured = body.response_format?.type === "json_schema" || forcedTool;
    const structuredName = forcedTool ?? body.response_format?.json_schema?.name;
    const kind = !structured ? "section" : structuredName === "synthesis" ? "synthesis" : "plan";
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

    const reply = options.respond?.(recorded) ?? defaultReply(recorded, forcedTool);
    if ("fault" in reply) {
      if (reply.fault === "reset") request.socket.destroy();
      return; // "hang": the response is never written; close() ends the connection.
    }
    if ("status" in reply) {
      response.writeHead(reply.status, { "content-type": "application/json", ...reply.headers });
      response.end(JSON.stringify(reply.body ?? { error: { message: `status ${reply.status}` } }));
      return;
    }
    const id = `chatcmpl-${++counter}`;
    const message =
      "content" in reply
        ? { role: "assistant", content: reply.content }
        : {
            role: "assistant",
            content: null,
            tool_calls: [{ id: `call_${counter}`, type: "function", function: reply.toolCall }],
          };
    const completionText = "content" in reply ? reply.content : reply.toolCall.arguments;
    const usage = {
      prompt_tokens: Math.ceil(JSON.stringify(body.messages).length / 4),
      completion_tokens: Math.ceil(completionText.length / 4),
      total_tokens: 0,
    };
    usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
    recorded.usage = usage;
    const finishReason = "content" in reply ? "stop" : "tool_calls";
    const created = Math.floor(Date.now() / 1000);

    if (!body.stream) {
      response.writeHead(200, { "content-type": "application/json" });
      response.end(
        JSON.stringify({
          id,
          object: "chat.completion",
          created,
          model: body.model,
          choices: [{ index: 0, message, finish_reason: finishReason, logprobs: null }],
          usage,
        }),
      );
      return;
    }

    response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    const send = (payload: unknown) => response.write(`data: ${JSON.stringify(payload)}\n\n`);
    const chunk = (delta: unknown, finish: string | null = null) => ({
      id,
      object: "chat.completion.chunk",
      created,
      model: body.model,
      choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
    });
    send(chunk({ role: "assistant", content: "" }));
    if ("content" in reply) {
      for (const piece of reply.content.match(/\S+\s*|\s+/g) ?? []) send(chunk({ content: piece }));
    } else {
      send(chunk({ tool_calls: [{ index: 0, ...message.tool_calls![0] }] }));
    }
    send(chunk({}, finishReason));
    if (body.stream_options?.include_usage) {
      send({ id, object: "chat.completion.chunk", created, model: body.model, choices: [], usage });
    }
    response.write("data: [DONE]\n\n");
    response.end();
  }

  function defaultReply(request: RecordedRequest, forcedTool: string | undefined): ServerReply {
    if (request.kind === "synthesis") {
      const text = JSON.stringify({
        introduction: "Server introduction.",
        transitions: [],
        conclusion: "Server conclusion.",
        answer: "Server answer.",
      });
      return forcedTool ? { toolCall: { name: forcedTool, arguments: text } } : { content: text };
    }
    if (request.kind === "plan") {
      const text = options.planText ?? JSON.stringify({ sections: options.plan ?? [] });
      return forcedTool ? { toolCall: { name: forcedTool, arguments: text } } : { content: text };
    }
    const name = request.sectionName ?? "(unknown)";
    // With tools: search first (for the section's name), then write citing every key returned.
    if (request.tools.length > 0 && request.toolResults.length === 0) {
      return { toolCall: { name: request.tools[0]!, arguments: JSON.stringify({ query: name }) } };
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
    const citations = keys.length ? ` ${keys.map((key) => `[${key}]`).join(" ")}` : "";
    return { content: `Text of section "${name}".${citations}\n\nMore about ${name}.` };
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    maxInFlight: () => maxInFlight,
    rejected: () => rejected,
    planRequests: () => requests.filter((request) => request.kind === "plan"),
    sectionRequests: () => requests.filter((request) => request.kind === "section"),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function forcedToolName(body: ChatCompletionBody): string | undefined {
  const choice = body.tool_choice as { type?: string; function?: { name?: string } } | undefined;
  return choice?.type === "function" ? choice.function?.name : undefined;
}

function firstUserText(body: ChatCompletionBody): string {
  const user = body.messages.find((message) => message.role === "user");
  if (!user) return "";
  if (typeof user.content === "string") return user.content;
  return (user.content as { type: string; text?: string }[])
    .map((part) => part.text ?? "")
    .join("");
}
