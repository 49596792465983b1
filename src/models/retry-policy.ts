import {
  classifyRateLimitError,
  type FailedAttemptHandler,
} from "@langchain/core/utils/async_caller";
import { RATE_LIMIT_HANDLED_HEADER } from "./model-fetch.js";

/** Names of errors that mean the server answered, but with content that cannot be used. */
const UNUSABLE_ANSWER_ERRORS = new Set([
  "SyntaxError",
  "OutputParserException",
  "LengthFinishReasonError",
  "ContentFilterFinishReasonError",
]);

/** Statuses that no retry can fix: the request itself is wrong (as LangChain's own list). */
const NO_RETRY_STATUSES = new Set([400, 401, 402, 403, 404, 405, 406, 407, 409, 413]);

/** Longest Retry-After waited for; a provider asking for more is out of capacity, not busy. */
const MAX_RETRY_AFTER_MS = 60_000;

/**
 * True when the model answered but the answer cannot be used (bad JSON, cut off, filtered, wrong
 * shape): something to ask again for, never a transport failure to retry.
 */
export function isUnusableAnswerError(error: unknown): boolean {
  return (
    error instanceof Error &&
    (UNUSABLE_ANSWER_ERRORS.has(error.name) ||
      // The OpenAI SDK's LengthFinishReasonError keeps the name "Error".
      UNUSABLE_ANSWER_ERRORS.has(error.constructor.name) ||
      (error as { lc_error_code?: string }).lc_error_code === "OUTPUT_PARSING_FAILURE")
  );
}

/** What servers say when they lack a feature the request used (JSON schema, JSON mode, tools). */
const UNSUPPORTED_FEATURE =
  /response_format|json_schema|json_object|structured output|guided|does not support tools|tool choice|tool_choice|tools param|--jinja|function calling/i;

/**
 * True when the server refused the request because it lacks a feature the request used: an HTTP
 * 400, 422, 500 or 501 whose message names it (vLLM, llama.cpp, Ollama and LM Studio word it so).
 * Retrying cannot help; asking differently can.
 */
export function rejectsFeature(error: unknown): boolean {
  const status = statusOf(error);
  return (
    error instanceof Error &&
    status !== undefined &&
    [400, 422, 500, 501].includes(status) &&
    UNSUPPORTED_FEATURE.test(error.message)
  );
}

/**
 * The model clients' retry decision (LangChain's `onFailedAttempt`: return to retry, throw to
 * stop). Retried, with LangChain's exponential backoff and jitter: 5xx, timeouts, connection
 * errors, and 429s: after the server's Retry-After when it names one (up to a minute), with
 * backoff when it names none (LangChain's own policy would give up on those, which for a report
 * means losing sections to a passing rate limit). Not retried: cancellation, requests the server
 * refuses (4xx), quota errors, and answers that arrived but cannot be parsed. The OpenAI SDK
 * parses structured output inside the retried request; retrying those would ask for a malformed
 * plan `(maxRetries + 1) × maxPlanAttempts` times. Content problems are the planner's to re-ask.
 * A 429 that the adaptive limiter already sent again (`RATE_LIMIT_HANDLED_HEADER`) is not retried
 * on top: it had its `maxRetries`.
 */
export const retryTransportFailuresOnly: FailedAttemptHandler = (error: unknown): void => {
  if (isUnusableAnswerError(error) || isCancellation(error) || rejectsFeature(error)) throw error;
  // What the server answered was read and refused (too large after decompression, a redirect to
  // another origin, an HTML page): the same request would get the same answer, downloaded again.
  if (causedBy(error, "ModelAnswerError")) throw error;
  const status = statusOf(error);
  if (status === 429) {
    if (headerOf(error, RATE_LIMIT_HANDLED_HEADER) !== undefined) throw error;
    const limit = classifyRateLimitError(error);
    if (limit?.action === "stop") throw error;
    if (limit?.retryAfterMs !== undefined) {
      if (limit.retryAfterMs > MAX_RETRY_AFTER_MS) throw error;
      // LangChain's retry loop (p-retry) reads the wait from the error it retries.
      (error as { retryAfterMs?: number }).retryAfterMs = limit.retryAfterMs;
    }
    return;
  }
  if (status !== undefined && NO_RETRY_STATUSES.has(status)) throw error;
};

/** True when `error` or one of its causes (the OpenAI SDK wraps what `fetch` threw) has `name`. */
function causedBy(error: unknown, name: string): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current; depth += 1) {
    if ((current as { name?: unknown }).name === name) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

function statusOf(error: unknown): number | undefined {
  const candidate = error as { status?: unknown; response?: { status?: unknown } } | null;
  const status = candidate?.status ?? candidate?.response?.status;
  return typeof status === "number" ? status : undefined;
}

function headerOf(error: unknown, name: string): string | undefined {
  const headers = (error as { headers?: unknown } | null)?.headers;
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  if (headers && typeof headers === "object") {
    const value = (headers as Record<string, unknown>)[name];
    return typeof value === "string" ? value : undefined;
  }
  return undefined;
}

function isCancellation(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return (
    error.name === "AbortError" ||
    error.message.startsWith("Cancel") ||
    error.message.startsWith("AbortError")
  );
}
