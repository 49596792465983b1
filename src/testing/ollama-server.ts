import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { readBody, type RecordedRequestBase } from "./http.js";
import type { ServerPlanSection } from "./openai-server.js";
import { sectionNameOf } from "./scripted-chat-model.js";

/** A message of Ollama's `/api/chat` request. */
interface OllamaMessage {
  role: string;
  content?: string;
  tool_calls?: { function: { name: string; arguments: unknown } }[];
}

/** The body of an `/api/chat` request, as Ollama's native API takes it. */
export interface OllamaChatBody {
  model: string;
  messages: OllamaMessage[];
  /** `"json"` (JSON mode) or a JSON schema (structured output). */
  format?: "json" | Record<string, unknown> | "";
  tools?: { type: string; function: { name: string; parameters?: unknown } }[];
  /** Ollama streams unless told `false`. */
  stream?: boolean;
  options?: Record<string, unknown>;
  keep_alive?: unknown;
  think?: unknown;
}

/** An `/api/chat` request as the server received it. */
export interface OllamaRequest extends RecordedRequestBase {
  body: OllamaChatBody;
  /** The token counts the server reported in its last chunk. */
  usage?: { prompt_eval_count: number; eval_count: number };
}

/** What the server answers to one request; the default follows the plan and writes short sections. */
export type OllamaReply =
  | { content: string }
  | { toolCall: { name: string; arguments: Record<string, unknown> } }
  | { status: number; body?: unknown };

export interface OllamaServerOptions {
  /** Sections a planning request gets. */
  plan?: ServerPlanSection[];
  /**
   * The models the server has pulled (`/api/tags`); a request for another is answered 404 as Ollama
   * does. Any model is served when unset.
   */
  models?: string[];
  /** Milliseconds before answering a request. */
  latencyMs?: number | ((request: OllamaRequest) => number);
  /** Overrides the default answer when it returns something. */
  respond?: (request: OllamaRequest) => OllamaReply | undefined;
}

/** A running local fake of Ollama's native API. */
export interface OllamaServer {
  /** Base URL to give `ChatOllama` (`baseUrl`) or `OLLAMA_BASE_URL`. */
  baseUrl: string;
  requests: OllamaRequest[];
  /** Most requests that were in flight at once. */
  maxInFlight(): number;
  planRequests(): OllamaRequest[];
  sectionRequests(): OllamaRequest[];
  close(): Promise<void>;
}

/**
 * Starts a fake of Ollama's native API (`POST /api/chat`, `GET /api/tags`, `GET /api/version`) on
 * 127.0.0.1 (a free port), answering as Ollama does: newline-delimited JSON chunks unless
 * `stream: false`, the last one `done: true` with `done_reason` and the token counts
 * (`prompt_eval_count`, `eval_count`); structured output as JSON `content` when `format` is a JSON
 * schema or `"json"`, or as a tool call when the plan or synthesis tool is offered; tool calls with
 * object `arguments`; errors as `{"error": "..."}`.
 */
export async function startOllamaServer(options: OllamaServerOptions = {}): Promise<OllamaServer> {
  const requests: OllamaRequest[] = [];
  let inFlight = 0;
  let maxInFlight = 0;

  const server = createServer((request, response) => {
    void handle(request, response).catch((error: unknown) => {
      response.statusCode = 500;
      response.end(JSON.stringify({ error: String(error) }));
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse) {
    if (request.method === "GET" && request.url === "/api/version") {
      return json(response, 200, { version: "0.12.6" });
    }
    if (request.method === "GET" && request.url === "/api/tags") {
      const models = (options.models ?? []).map((name) => ({
        name: name.includes(":") ? name : `${name}:latest`,
        model: name.includes(":") ? name : `${name}:latest`,
        modified_at: new Date(0).toISOString(),
        size: 0,
        digest: "0".repeat(64),
        details: { format: "gguf", family: "llama" },
      }));
      return json(response, 200, { models });
    }
    if (request.method !== "POST" || request.url !== "/api/chat") {
      response.writeHead(404, { "content-type": "text/plain" });
      response.end("404 page not found");
      return;
    }
    const body = JSON.parse(await readBody(request)) as OllamaChatBody;
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    response.on("close", () => (inFlight -= 1));

    const prompt = firstUserText(body);
    const tools = (body.tools ?? []).map((tool) => tool.function.name);
    const kind = kindOf(body, tools);
    const recorded: OllamaRequest = {
      body,
      headers: request.headers,
      kind,
      sectionName: kind === "section" ? sectionNameOf(prompt) : undefined,
      prompt,
      tools,
      toolResults: body.messages
        .filter((message) => message.role === "tool")
        .map((message) => message.content ?? ""),
      receivedAt: Date.now(),
    };
    requests.push(recorded);
    if (options.models && !hasModel(options.models, body.model)) {
      return json(response, 404, {
        error: `model "${body.model}" not found, try pulling it first`,
      });
    }

    const latency =
      typeof options.latencyMs === "function"
        ? options.latencyMs(recorded)
        : (options.latencyMs ?? 0);
    if (latency > 0) await new Promise((resolve) => setTimeout(resolve, latency));

    const reply = options.respond?.(recorded) ?? defaultReply(recorded, options);
    if ("status" in reply) {
      return json(response, reply.status, reply.body ?? { error: `status ${reply.status}` });
    }
    const message: OllamaMessage =
      "content" in reply
        ? { role: "assistant", content: reply.content }
        : {
            role: "assistant",
            content: "",
            tool_calls: [
              { function: { name: reply.toolCall.name, arguments: reply.toolCall.arguments } },
            ],
          };
    const usage = {
      prompt_eval_count: Math.ceil(JSON.stringify(body.messages).length / 4),
      eval_count: Math.ceil(
        ((message.content ?? "") + JSON.stringify(message.tool_calls ?? "")).length / 4,
      ),
    };
    recorded.usage = usage;
    const done = {
      done: true,
      done_reason: "stop",
      total_duration: 1_000_000,
      load_duration: 100_000,
      prompt_eval_count: usage.prompt_eval_count,
      prompt_eval_duration: 200_000,
      eval_count: usage.eval_count,
      eval_duration: 700_000,
    };
    const stamp = () => ({ model: body.model, created_at: new Date().toISOString() });

    if (body.stream === false) {
      return json(response, 200, { ...stamp(), message, ...done });
    }
    response.writeHead(200, { "content-type": "application/x-ndjson" });
    const send = (payload: unknown) => response.write(`${JSON.stringify(payload)}\n`);
    if (message.tool_calls) {
      send({ ...stamp(), message, done: false });
    } else {
      for (const piece of message.content?.match(/\S+\s*|\s+/g) ?? []) {
        send({ ...stamp(), message: { role: "assistant", content: piece }, done: false });
      }
    }
    send({ ...stamp(), message: { role: "assistant", content: "" }, ...done });
    response.end();
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    maxInFlight: () => maxInFlight,
    planRequests: () => requests.filter((request) => request.kind === "plan"),
    sectionRequests: () => requests.filter((request) => request.kind === "section"),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function json(response: ServerResponse, status: number, payload: unknown): void {
  response.writeHead(status, { "content-type": "application/json; charset=utf-8" });
  response.end(JSON.stringify(payload));
}

function hasModel(models: string[], name: string): boolean {
  const tagged = (model: string) => (model.includes(":") ? model : `${model}:latest`);
  return models.some((model) => tagged(model) === tagged(name));
}

/**
 * "plan" or "synthesis" for structured requests: a JSON-schema `format` (by its properties), the
 * plan or synthesis tool offered, or a message holding `<Output schema name="...">` (JSON mode, or
 * the schema in the prompt); "section" otherwise.
 */
function kindOf(body: OllamaChatBody, tools: string[]): OllamaRequest["kind"] {
  if (typeof body.format === "object" && body.format !== null) {
    const properties = (body.format.properties ?? {}) as Record<string, unknown>;
    return "sections" in properties ? "plan" : "synthesis";
  }
  if (tools.includes("plan")) return "plan";
  if (tools.includes("synthesis")) return "synthesis";
  const texts = body.messages.map((message) => message.content ?? "");
  if (texts.some((text) => text.includes('<Output schema name="synthesis">'))) return "synthesis";
  if (texts.some((text) => text.includes('<Output schema name="plan">'))) return "plan";
  return "section";
}

function firstUserText(body: OllamaChatBody): string {
  return body.messages.find((message) => message.role === "user")?.content ?? "";
}

/** The plan or synthesis (as JSON content, or a tool call when its tool is offered), or a section. */
function defaultReply(request: OllamaRequest, options: OllamaServerOptions): OllamaReply {
  if (request.kind !== "section") {
    const value: Record<string, unknown> =
      request.kind === "plan"
        ? { sections: options.plan ?? [] }
        : {
            introduction: "Ollama introduction.",
            transitions: [],
            conclusion: "Ollama conclusion.",
            answer: "Ollama answer.",
          };
    return request.tools.includes(request.kind)
      ? { toolCall: { name: request.kind, arguments: value } }
      : { content: JSON.stringify(value) };
  }
  const name = request.sectionName ?? "(unknown)";
  if (request.tools.length > 0 && request.toolResults.length === 0) {
    return { toolCall: { name: request.tools[0]!, arguments: { query: name } } };
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
  return { content: `Text of section "${name}" from Ollama.${citations}\n\nMore about ${name}.` };
}
