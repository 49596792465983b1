import { classifyRateLimitError } from "@langchain/core/utils/async_caller";
import { ModelServerUnreachableError, OrchestratorWorkersError, redact } from "../errors.js";
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
  /**
   * Most bytes of an answer's body read, counted after decompression (a small gzip body can
   * inflate to gigabytes); a larger answer fails with a `ModelAnswerError`. Default
   * `MAX_ANSWER_BYTES`.
   */
  maxAnswerBytes?: number;
}

/**
 * Most bytes of a model answer's body, after decompression: 32 MiB, over a hundred times the
 * longest answer a model's output limit allows, so only a broken or hostile server reaches it.
 */
export const MAX_ANSWER_BYTES = 32 * 1024 * 1024;

/** Most bytes of an error body read: far more than any message (`openAIErrorBody` keeps 1000 characters). */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

/** Most same-origin redirects (307 and 308 only) followed for one request. */
const MAX_REDIRECTS = 3;

/**
 * A model server answered, but not with something a model client can use: a redirect it must not
 * follow, a body larger than `MAX_ANSWER_BYTES` after decompression, an HTML page, an event stream
 * to a request that asked for none, or an error sent with status 200. The message names what came
 * back, in one line, without credentials; the OpenAI SDK reports it as "Connection error." with
 * this error as the cause, and `shortMessage` shows this one.
 */
export class ModelAnswerError extends OrchestratorWorkersError {
  /** The HTTP status the server answered with. */
  readonly status: number;

  constructor(options: { message: string; status: number; cause?: unknown }) {
    super("ModelAnswerError", options.message, { cause: options.cause });
    this.status = options.status;
  }

  static override isInstance(error: unknown): error is ModelAnswerError {
    return OrchestratorWorkersError.isInstance(error) && error.name === "ModelAnswerError";
  }
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
 * - no redirect to another origin, ever (it would send the prompt and the API key to a host
 *   nobody configured; a 302 would even turn the POST into a GET whose answer reaches the report):
 *   same-origin 307 and 308, which keep the method and body, are followed up to `MAX_REDIRECTS`
 *   times, and any other redirect fails with a `ModelAnswerError` naming both ends;
 * - the answer's body bounded after decompression (`maxAnswerBytes`), error bodies to 64 KiB;
 * - an answer that is not one (an HTML page, an event stream to a request that asked for none,
 *   a 200 carrying `{"error": ...}`) failing with a `ModelAnswerError` that says what came back,
 *   where the SDK would report "no choices";
 * - error bodies with every configured secret redacted (some gateways echo the Authorization
 *   header; the SDK puts the body in its error, which reaches the state, the report and traces);
 * - error bodies put in the shape the OpenAI SDK reads: vLLM answers
 *   `{"object":"error","message":...}` and Ollama and LM Studio `{"error":"..."}`, which the SDK
 *   shows as "400 status code (no body)" or a quoted JSON string instead of what the server said.
 */
export function createModelFetch(options: ModelFetchOptions = {}): typeof fetch {
  const {
    timeoutMs,
    secrets = [],
    limiter,
    rateLimitRetries = 0,
    maxAnswerBytes = MAX_ANSWER_BYTES,
  } = options;
  const send = async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
    const signal = timeoutMs ? withTimeout(init?.signal ?? undefined, timeoutMs) : init?.signal;
    const response = await sendSameOrigin(input, { ...init, signal });
    return { response, signal: signal ?? undefined };
  };
  const errorText = async (response: Response) =>
    redact(await boundedText(response, MAX_ERROR_BODY_BYTES, { cut: true }), secrets);
  const answer = (response: Response, init?: RequestInit) =>
    usableAnswer(response, { streamed: asksForStream(init?.body), maxAnswerBytes, secrets });
  if (!limiter) {
    return async (input, init) => {
      const { response } = await send(input, init);
      if (response.ok) return answer(response, init);
      return errorResponse(response, await errorText(response));
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
      if (response.ok) return releasedWithBody(answer(response, init), permit.release, signal);
      let text: string;
      try {
        text = await errorText(response);
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
 * `fetch` that never follows a redirect to another origin: same-origin 307 and 308 (which keep
 * the method and body) are followed when the body can be sent again, up to `MAX_REDIRECTS`; any
 * other redirect fails with a `ModelAnswerError` naming where the request went and where it was
 * sent on to (origins only: no credentials, no path). 301, 302 and 303 are refused even within
 * the origin: fetch would turn the POST into a GET without the prompt, and its answer is no answer.
 */
async function sendSameOrigin(input: Parameters<typeof fetch>[0], init: RequestInit) {
  const resendable =
    !(input instanceof Request) && (init.body == null || typeof init.body === "string");
  let url = input instanceof Request ? input.url : String(input);
  for (let redirects = 0; ; redirects += 1) {
    let response: Response;
    try {
      response = await fetch(redirects === 0 ? input : url, { ...init, redirect: "manual" });
    } catch (error) {
      throw init.signal?.aborted ? error : unreachable(url, error);
    }
    if (![301, 302, 303, 307, 308].includes(response.status)) return response;
    await response.body?.cancel().catch(() => undefined);
    const from = new URL(url);
    let target: URL | undefined;
    try {
      target = new URL(response.headers.get("location") ?? "", from);
    } catch {
      target = undefined;
    }
    const status = response.status;
    const at = `The model server at ${from.origin} answered ${status}`;
    if (!target || !response.headers.get("location")) {
      throw new ModelAnswerError({
        status,
        message: `${at}, a redirect without a Location: set the base URL to the server's own address.`,
      });
    }
    if (target.origin !== from.origin) {
      throw new ModelAnswerError({
        status,
        message: `${at}, a redirect to ${target.origin}: a model request is never sent on to another origin (it carries the prompt and the API key); set the base URL to the server that answers.`,
      });
    }
    if (status !== 307 && status !== 308) {
      throw new ModelAnswerError({
        status,
        message: `${at}, a redirect to ${target.pathname}: followed, it would become a GET without the prompt; set the base URL to where it points.`,
      });
    }
    if (!resendable || redirects >= MAX_REDIRECTS) {
      throw new ModelAnswerError({
        status,
        message: `${at}, a redirect to ${target.pathname}${resendable ? ` after ${MAX_REDIRECTS} redirects` : ", and the request cannot be sent again"}: set the base URL to where it points.`,
      });
    }
    url = target.href;
  }
}

/** True when a request's JSON body asks for a streamed answer (`"stream": true`). */
function asksForStream(body: unknown): boolean {
  if (typeof body !== "string" || !body.includes('"stream"')) return false;
  try {
    return (JSON.parse(body) as { stream?: unknown }).stream === true;
  } catch {
    return false;
  }
}

/**
 * An OK answer the client can read: a streamed one with its body bounded by `maxAnswerBytes` as it
 * is read; any other with its body read whole (bounded too) and checked when the client reads it,
 * so that what a server sent instead of a completion is named rather than reported by the SDK as
 * "no choices". The check fails the body, not the request, as a malformed answer would.
 */
function usableAnswer(
  response: Response,
  options: { streamed: boolean; maxAnswerBytes: number; secrets: readonly string[] },
): Response {
  if (options.streamed) {
    return rebuilt(response, boundedStream(response, options.maxAnswerBytes));
  }
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          controller.enqueue(new TextEncoder().encode(await checkedText(response, options)));
          controller.close();
        } catch (error) {
          controller.error(error);
        }
      },
      cancel: (reason) => response.body?.cancel(reason),
    },
    { highWaterMark: 0 },
  );
  return rebuilt(response, body);
}

/** The body of a single answer, bounded, or a `ModelAnswerError` naming what it is instead. */
async function checkedText(
  response: Response,
  options: { maxAnswerBytes: number; secrets: readonly string[] },
): Promise<string> {
  const type = response.headers.get("content-type") ?? "";
  const origin = originOf(response.url);
  const fail = (what: string) =>
    new ModelAnswerError({
      status: response.status,
      message: `The model server${origin} answered ${response.status} with ${what}${/[.?!]$/.test(what) ? "" : "."}`,
    });
  if (/text\/event-stream/i.test(type)) {
    await response.body?.cancel().catch(() => undefined);
    throw fail(
      'an event stream (text/event-stream) to a request that asked for a single answer: the server ignores "stream": false, or a proxy in front of it streams',
    );
  }
  const text = await boundedText(response, options.maxAnswerBytes, { origin });
  const head = text.slice(0, 1024).trimStart();
  if (/text\/html/i.test(type) || /^<(?:!doctype|html|head|body)\b/i.test(head)) {
    const title = /<title[^>]*>([^<]{0,200})/i.exec(text.slice(0, 64 * 1024))?.[1];
    const named = title ? ` titled "${oneLine(redact(title, options.secrets), 100)}"` : "";
    throw fail(
      `an HTML page${named}, not a completion: is the base URL the API's (often ending in /v1), not a web page or a login portal?`,
    );
  }
  if (/^(?:data|event|id|retry):/.test(head)) {
    throw fail(
      'an event stream to a request that asked for a single answer: the server ignores "stream": false',
    );
  }
  const error = errorOf(text);
  if (error !== undefined) {
    throw fail(
      `an error instead of a completion: "${oneLine(redact(error, options.secrets), 200)}"`,
    );
  }
  return text;
}

/** What a 200 body reports as its error (`{"error": ...}` and no `choices`), if it is one. */
function errorOf(text: string): string | undefined {
  if (!text.trimStart().startsWith("{") || !text.includes('"error"')) return undefined;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) return undefined;
  const record = body as Record<string, unknown>;
  if (record.error === undefined || record.error === null || "choices" in record) return undefined;
  try {
    const message = (JSON.parse(openAIErrorBody(text)) as { error?: { message?: unknown } }).error
      ?.message;
    if (typeof message === "string") return message;
  } catch {
    // Not the shapes openAIErrorBody knows: the error value itself.
  }
  return JSON.stringify(record.error);
}

/** `text` on one line, at most `max` characters. */
function oneLine(text: string, max: number): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** " at <origin>" of a response's URL, or "" when it has none. */
function originOf(url: string): string {
  try {
    return url ? ` at ${new URL(url).origin}` : "";
  } catch {
    return "";
  }
}

/** The response with `body` and without the headers of the body as it came (length, encoding). */
function rebuilt(response: Response, body: string | ReadableStream<Uint8Array> | null): Response {
  const headers = new Headers(response.headers);
  headers.delete("content-length");
  headers.delete("content-encoding");
  return new Response(body, { status: response.status, statusText: response.statusText, headers });
}

/**
 * `response`'s body as a stream that fails with a `ModelAnswerError`, and stops reading (so
 * stops decompressing), once more than `maxBytes` bytes have come.
 */
function boundedStream(response: Response, maxBytes: number): ReadableStream<Uint8Array> | null {
  const origin = originOf(response.url);
  if (!response.body) return null;
  const reader: ReadableStreamDefaultReader<Uint8Array> = response.body.getReader();
  let read = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) {
        controller.close();
        return;
      }
      read += value.byteLength;
      if (read > maxBytes) {
        await reader.cancel().catch(() => undefined);
        controller.error(tooLarge(response, maxBytes, origin));
        return;
      }
      controller.enqueue(value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

function tooLarge(response: Response, maxBytes: number, origin: string): ModelAnswerError {
  const encoding = response.headers.get("content-encoding");
  return new ModelAnswerError({
    status: response.status,
    message: `The model server${origin} sent an answer larger than ${formatBytes(maxBytes)}${encoding ? ` after decompression (content-encoding ${encoding})` : ""}: reading stopped there.`,
  });
}

function formatBytes(bytes: number): string {
  return bytes % (1024 * 1024) === 0
    ? `${bytes / (1024 * 1024)} MiB`
    : bytes % 1024 === 0
      ? `${bytes / 1024} KiB`
      : `${bytes} bytes`;
}

/**
 * `response`'s body as text, at most `maxBytes` of it (after decompression): beyond, cut there
 * with `cut` (error bodies: only their start is shown), else a `ModelAnswerError`.
 */
async function boundedText(
  response: Response,
  maxBytes: number,
  options: { cut?: boolean; origin?: string } = {},
): Promise<string> {
  if (!response.body) return "";
  const reader: ReadableStreamDefaultReader<Uint8Array> = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let read = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (read + value.byteLength > maxBytes) {
      await reader.cancel().catch(() => undefined);
      if (!options.cut)
        throw tooLarge(response, maxBytes, options.origin ?? originOf(response.url));
      chunks.push(value.subarray(0, maxBytes - read));
      break;
    }
    read += value.byteLength;
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * A request that got no answer at all, as an error that says where it went (the origin, without
 * credentials or path) and why (undici's cause: ECONNREFUSED, ENOTFOUND, ...).
 */
function unreachable(url: string, error: unknown): unknown {
  let origin: string;
  try {
    origin = new URL(url).origin;
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
