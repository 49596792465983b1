import { redact } from "../errors.js";

/** Options of `createModelFetch`. */
export interface ModelFetchOptions {
  /** Time limit of the whole request, response body included, in milliseconds. */
  timeoutMs?: number;
  /** Secrets that must not survive in an error body (a server or proxy may echo the key). */
  secrets?: readonly string[];
}

/**
 * The `fetch` the model clients use: the platform's, with
 * - a time limit on the whole request, body included (the SDK's own timeout stops waiting once
 *   the headers arrive, so a body that never comes would hang the run);
 * - error bodies with every configured secret redacted (some gateways echo the Authorization
 *   header; the SDK puts the body in its error, which reaches the state, the report and traces);
 * - error bodies put in the shape the OpenAI SDK reads: vLLM answers
 *   `{"object":"error","message":...}` and Ollama and LM Studio `{"error":"..."}`, which the SDK
 *   shows as "400 status code (no body)" or a quoted JSON string instead of what the server said.
 */
export function createModelFetch(options: ModelFetchOptions = {}): typeof fetch {
  const { timeoutMs, secrets = [] } = options;
  return async (input, init) => {
    const signal = timeoutMs
      ? AbortSignal.any([...(init?.signal ? [init.signal] : []), AbortSignal.timeout(timeoutMs)])
      : init?.signal;
    const response = await fetch(input, { ...init, signal });
    if (response.ok) return response;
    const text = redact(await response.text(), secrets);
    const headers = new Headers(response.headers);
    headers.delete("content-length");
    headers.delete("content-encoding");
    headers.set("content-type", "application/json");
    return new Response(openAIErrorBody(text), {
      status: response.status,
      statusText: response.statusText,
      headers,
    });
  };
}

/** An error body as `{"error":{"message":...}}`, whatever shape the server gave it. */
export function openAIErrorBody(text: string): string {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return text.trim() ? JSON.stringify({ error: { message: text.trim().slice(0, 1000) } }) : text;
  }
  const record = (body ?? {}) as Record<string, unknown>;
  const error = record.error as Record<string, unknown> | string | undefined;
  if (typeof error === "object" && error !== null && typeof error.message === "string") return text;
  const message =
    typeof error === "string"
      ? error
      : typeof record.message === "string"
        ? record.message
        : typeof record.detail === "string"
          ? record.detail
          : undefined;
  if (message === undefined) return text;
  return JSON.stringify({
    error: {
      message,
      type: typeof record.type === "string" ? record.type : null,
      code: record.code ?? null,
    },
  });
}
