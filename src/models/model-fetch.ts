/**
 * The `fetch` the model clients use: the platform's, with error bodies put in the shape the OpenAI
 * SDK reads. vLLM answers `{"object":"error","message":...}` and Ollama and LM Studio
 * `{"error":"..."}`; the SDK reads only `{"error":{"message":...}}`, so a user would see "400
 * status code (no body)" or a quoted JSON string instead of what the server said.
 */
export const modelFetch: typeof fetch = async (input, init) => {
  const response = await fetch(input, init);
  if (response.ok) return response;
  const text = await response.text();
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
