import { classifyRateLimitError } from "@langchain/core/utils/async_caller";
import { ModelServerUnreachableError, redact } from "../errors.js";
import {
  readRateLimitHeaders,
  type AdaptiveConcurrencyLimiter,
  type RateLimitSignal,
} from "./adaptive-concurrency.js";

/** Options of `createModelFetch`. */
export interface ModelFetchOptions {
  /**
   * Time limit of one request, response body included, in milliseconds, counted from when it
   * leaves the limiter's line (waiting for a place is not the provider being slow).
   */
  timeoutMs?: number;
  /** Secrets that must not survive in an error body (a server or proxy may echo the key). */
  secrets?: readonly string[];
  /**
   * Bounds and adapts the requests in flight (see `AdaptiveConcurrencyLimiter`): each request
   * waits for a place, holds it until its body is read, and tells it the answer's status and
   * rate-limit headers.
   */
  limiter?: AdaptiveConcurrencyLimiter;
  /**
   * With `limiter`: how many times a 429 is sent again, each time once the limiter lets it (after
   * the server's Retry-After, or a short backoff when it names none). Quota errors and a
   * Retry-After over a minute are never sent again. Default 0.
   */
  rateLimitRetries?: number;
}

/**
 * Header put on a 429 that the limiter already handled (its value: how many times it was sent
 * again), so the client's retry policy does not send it again on top.
 */
export const RATE_LIMIT_HANDLED_HEADER = "x-orchestrator-workers-rate-limit-retries";

/** Longest Retry-After a 429 is sent again after; longer means out of capacity, not busy. */
const MAX_RETRY_AFTER_MS = 60_000;

/**
 * The `fetch` the model clients use: the platform's, with
 * - with `limiter`, a place in line before each request (see `ModelFetchOptions.limiter`), and
 *   429s sent again by the limiter (`rateLimitRetries`) instead of surfacing as errors;
 * - a time limit on the whole request, body included (the SDK's own timeout stops waiting once
 *   the headers arrive, so a body that never comes would hang the run);
 * - error bodies with every configured secret redacted (some gateways echo the Authorization
 *   header; the SDK puts the body in its error, which reaches the state, the report and traces);
 * - error bodies put in the shape the OpenAI SDK reads: vLLM answers
 *   `{"object":"error","message":...}` and Ollama and LM Studio `{"error":"..."}`, which the SDK
 *   shows as "400 status code (no body)" or a quoted JSON string instead of what the server said.
 */
export function createModelFetch(options: ModelFetchOptions = {}): typeof fetch {
  const { timeoutMs, secrets = [], limiter, rateLimitRetries = 0 } = options;
  const send = async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
    const signal = timeoutMs ? withTimeout(init?.signal ?? undefined, timeoutMs) : init?.signal;
    try {
      return { response: await fetch(input, { ...init, signal }), signal: signal ?? undefined };
    } catch (error) {
      throw signal?.aborted ? error : unreachable(input, error);
    }
  };
  if (!limiter) {
    return async (input, init) => {
      const { response } = await send(input, init);
      if (response.ok) return response;
      return errorResponse(response, redact(await response.text(), secrets));
    };
  }
  return async (input, init) => {
    const cost = estimatedTokens(init?.body);
    // A stream cannot be sent twice; the OpenAI SDK sends JSON text.
    const resendable = init?.body == null || typeof init.body === "string";
    const callerSignal = init?.signal ?? undefined;
    for (let attempt = 0; ; attempt += 1) {
      const permit = await limiter.acquire({ cost, signal: callerSignal, front: attempt > 0 });
      let sent: Awaited<ReturnType<typeof send>>;
      try {
        sent = await send(input, init);
      } catch (error) {
        permit.release();
        throw error;
      }
      const { response, signal } = sent;
      const limits = readRateLimitHeaders(response.status, response.headers);
      permit.report(limits);
      if (response.ok) return releasedWithBody(response, permit.release, signal);
      let text: string;
      try {
        text = redact(await response.text(), secrets);
      } finally {
        permit.release();
      }
      if (response.status !== 429) return errorResponse(response, text);
      if (resendable && attempt < rateLimitRetries && worthWaitingFor(text, response, limits)) {
        if (limits.retryAfterMs === undefined) await sleep(backoffMs(attempt), callerSignal);
        continue;
      }
      return errorResponse(response, text, { [RATE_LIMIT_HANDLED_HEADER]: String(attempt) });
    }
  };
}

/**
 * A request that got no answer at all, as an error that says where it went (the origin, without
 * credentials or path) and why (undici's cause: ECONNREFUSED, ENOTFOUND, ...).
 */
function unreachable(input: Parameters<typeof fetch>[0], error: unknown): unknown {
  let origin: string;
  try {
    const url = new URL(input instanceof Request ? input.url : String(input));
    origin = url.origin;
  } catch {
    return error;
  }
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  const reason =
    typeof cause?.code === "string"
      ? cause.code
      : typeof cause?.message === "string"
        ? cause.message
        : error instanceof Error
          ? error.message
          : String(error);
  // fetch's own messages may quote the URL, credentials and all.
  const safeReason = reason.replace(/\/\/[^/@\s]*@/g, "//");
  return new ModelServerUnreachableError({ origin, reason: safeReason, cause: error });
}

/**
 * A signal that aborts when `caller` does or `timeoutMs` have passed. Built on a controller that
 * the timer holds, not on `AbortSignal.any([caller, AbortSignal.timeout(ms)])`: nothing holds that
 * combined signal once fetch has the response, and Node may collect it before the timeout fires,
 * so a body that never comes was sometimes never cut off (about one run in three of the
 * stalled-body test). The timer does not keep the process alive; firing after the request
 * finished does nothing.
 */
function withTimeout(caller: AbortSignal | undefined, timeoutMs: number): AbortSignal {
  const controller = new AbortController();
  const timer = setTimeout(
    () =>
      controller.abort(
        new DOMException(`The request took longer than ${timeoutMs} ms (timeout)`, "TimeoutError"),
      ),
    timeoutMs,
  );
  timer.unref();
  if (caller?.aborted) controller.abort(caller.reason);
  else caller?.addEventListener("abort", () => controller.abort(caller.reason), { once: true });
  return controller.signal;
}

/** A 429 worth sending again: not a spent quota, and not a Retry-After over a minute. */
function worthWaitingFor(text: string, response: Response, limits: RateLimitSignal): boolean {
  if (limits.retryAfterMs !== undefined && limits.retryAfterMs > MAX_RETRY_AFTER_MS) return false;
  let error: { message?: unknown; code?: unknown } = {};
  try {
    error = (JSON.parse(openAIErrorBody(text)) as { error?: typeof error }).error ?? {};
  } catch {
    // Not JSON: only the status and headers count.
  }
  const verdict = classifyRateLimitError({
    status: 429,
    headers: response.headers,
    message: typeof error.message === "string" ? error.message : undefined,
    code: typeof error.code === "string" ? error.code : undefined,
  });
  return verdict?.action !== "stop";
}

/** Wait before sending a 429 again when the server named none: 100 ms doubling, jittered, ≤ 5 s. */
function backoffMs(attempt: number): number {
  return Math.min(5000, 100 * 2 ** attempt) * (1 + Math.random());
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", abort);
      resolve();
    }, ms);
    const abort = () => {
      clearTimeout(timer);
      reject(signal?.reason instanceof Error ? signal.reason : new Error("Aborted"));
    };
    signal?.addEventListener("abort", abort, { once: true });
  });
}

/**
 * A request's tokens as providers count them against a tokens-per-minute limit before answering:
 * its text at about four characters a token, plus the answer cap it asks for.
 */
export function estimatedTokens(body: unknown): number {
  if (typeof body !== "string") return 0;
  const cap = /"max(?:_completion)?_tokens"\s*:\s*(\d+)/.exec(body);
  return Math.ceil(body.length / 4) + (cap ? Number(cap[1]) : 0);
}

/** An error answer rebuilt with its (redacted) body in the shape the OpenAI SDK reads. */
function errorResponse(
  response: Response,
  text: string,
  extraHeaders: Record<string, string> = {},
): Response {
  const headers = new Headers(response.headers);
  headers.delete("content-length");
  headers.delete("content-encoding");
  headers.set("content-type", "application/json");
  for (const [name, value] of Object.entries(extraHeaders)) headers.set(name, value);
  return new Response(openAIErrorBody(text), {
    status: response.status,
    statusText: response.statusText,
    headers,
  });
}

/** The response with `release` called once its body is read, fails, is cancelled or aborted. */
export function releasedWithBody(
  response: Response,
  release: () => void,
  signal?: AbortSignal,
): Response {
  if (!response.body) {
    release();
    return response;
  }
  signal?.addEventListener("abort", release, { once: true });
  const reader: ReadableStreamDefaultReader<Uint8Array> = response.body.getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          release();
          controller.close();
        } else {
          controller.enqueue(value);
        }
      } catch (error) {
        release();
        controller.error(error);
      }
    },
    async cancel(reason) {
      release();
      await reader.cancel(reason);
    },
  });
  return new Response(body, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
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
