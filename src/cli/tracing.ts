import { overrideFetchImplementation } from "langsmith";
import { redact } from "../errors.js";

/**
 * Makes the LangSmith client redact every configured secret from the error bodies it reads: a
 * tracing endpoint (or a proxy before it) may echo the `x-api-key` header in an error, and the
 * client prints what it got on stderr, which this process cannot otherwise filter. Uses LangSmith's
 * public `overrideFetchImplementation`, for this process only (the CLI's).
 */
export function redactTracerErrors(secrets: readonly string[]): void {
  if (secrets.length === 0) return;
  overrideFetchImplementation(async (input: string | URL | Request, init?: RequestInit) => {
    const response = await fetch(input, init);
    if (response.ok) return response;
    const text = redact(await response.text(), secrets);
    const headers = new Headers(response.headers);
    headers.delete("content-length");
    headers.delete("content-encoding");
    return new Response(text, {
      status: response.status,
      statusText: response.statusText,
      headers,
    });
  });
}
