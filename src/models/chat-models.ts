import { ChatOpenAI } from "@langchain/openai";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { AsyncCaller, type FailedAttemptHandler } from "@langchain/core/utils/async_caller";
import type { Environment } from "../env.js";
import type { Configuration } from "../schemas/configuration.js";
import { OFFLINE_NOTICE, OfflineChatModel } from "./offline-chat-model.js";

/** Which part of the graph a model serves. */
export type ModelRole = "planner" | "writer" | "aggregator";

/** Returns the chat model for one role under one run's configuration. */
export type ChatModelProvider = (request: {
  role: ModelRole;
  configuration: Configuration;
}) => BaseChatModel;

/** Options of `createChatModelProvider`. */
export interface ChatModelProviderOptions {
  /** Where the OpenAI key and base URL come from; see `readEnvironment`. */
  environment: Environment;
  /** Use the offline model even when a key or base URL is set. */
  offline?: boolean;
  /** Called once, the first time the offline model is chosen (the CLI prints it on stderr). */
  onOfflineModel?: (notice: string) => void;
}

/** Placeholder key for OpenAI-compatible servers that need none (Ollama, vLLM, LM Studio). */
const NO_KEY = "no-key-needed";

/** True when runs will use the offline model: forced, or no key and no base URL. */
export function usesOfflineModel(options: ChatModelProviderOptions): boolean {
  return Boolean(
    options.offline || (!options.environment.openaiApiKey && !options.environment.openaiBaseUrl),
  );
}

/**
 * The default model provider: `ChatOpenAI` against OpenAI or any OpenAI-compatible server when
 * `OPENAI_API_KEY` or `OPENAI_BASE_URL` is set, the offline model otherwise. Clients are created
 * once per distinct setting and reused, so connections are kept alive across a run's requests and
 * `maxConcurrency` bounds the requests in flight to one provider across all the runs of a process.
 * Retries of failed requests and the request timeout are set here, in the client, and nowhere else:
 * LangChain's client retries 429 (waiting at least the server's Retry-After, up to 60 s), 5xx,
 * timeouts and connection errors with exponential backoff (about 1, 2, 4 s...) and jitter.
 */
export function createChatModelProvider(options: ChatModelProviderOptions): ChatModelProvider {
  const clients = new Map<string, BaseChatModel>();
  const offline = usesOfflineModel(options);
  let offlineNoticeGiven = false;
  return ({ role, configuration }) => {
    if (offline) {
      if (!offlineNoticeGiven) {
        offlineNoticeGiven = true;
        options.onOfflineModel?.(OFFLINE_NOTICE);
      }
      return cached(clients, "offline", () => new OfflineChatModel());
    }
    const settings = {
      model: {
        planner: configuration.plannerModel,
        writer: configuration.writerModel,
        aggregator: configuration.aggregatorModel,
      }[role],
      temperature: configuration.temperature,
      maxRetries: configuration.maxRetries,
      maxConcurrency: configuration.maxConcurrency,
      timeout: configuration.requestTimeoutMs,
    };
    return cached(
      clients,
      JSON.stringify(settings),
      () =>
        new ChatOpenAI({
          ...settings,
          onFailedAttempt: retryTransportFailuresOnly,
          apiKey: options.environment.openaiApiKey ?? NO_KEY,
          configuration: { baseURL: options.environment.openaiBaseUrl },
        }),
    );
  };
}

/** LangChain's own retry decision (429 with Retry-After, 5xx, timeouts, connection errors...). */
const langchainRetryDecision = (
  new AsyncCaller({}) as unknown as { onFailedAttempt?: FailedAttemptHandler }
).onFailedAttempt;

/** Names of errors that mean the server answered, but with content that cannot be used. */
const UNUSABLE_ANSWER_ERRORS = new Set([
  "SyntaxError",
  "OutputParserException",
  "LengthFinishReasonError",
  "ContentFilterFinishReasonError",
]);

/**
 * True when the model answered but the answer cannot be used (bad JSON, cut off, filtered, wrong
 * shape): something to ask again for, never a transport failure to retry.
 */
export function isUnusableAnswerError(error: unknown): boolean {
  return (
    error instanceof Error &&
    (UNUSABLE_ANSWER_ERRORS.has(error.name) ||
      (error as { lc_error_code?: string }).lc_error_code === "OUTPUT_PARSING_FAILURE")
  );
}

/**
 * The client's retry decision: LangChain's, except that an answer that arrived but cannot be parsed
 * is not retried here. The OpenAI SDK parses structured output inside the retried request; without
 * this, a malformed plan would be asked for `(maxRetries + 1) × maxPlanAttempts` times. Content
 * problems are the orchestrator's to re-ask, transport problems the client's to retry.
 */
export const retryTransportFailuresOnly: FailedAttemptHandler = (error: unknown): void => {
  if (isUnusableAnswerError(error)) throw error;
  // A handler decides by throwing (stop) or returning (retry).
  try {
    langchainRetryDecision?.(error);
  } catch (decision) {
    // LangChain gives up on a 429 that names no Retry-After ("capacity"), leaving it to the caller.
    // For a report that is a passing rate limit: back off and retry, within maxRetries. A 429 whose
    // Retry-After is over a minute, or a quota error, still stops here.
    const { rateLimitType, retryAfterMs } = decision as {
      rateLimitType?: string;
      retryAfterMs?: number;
    };
    if (rateLimitType === "capacity" && retryAfterMs === undefined) return;
    throw decision;
  }
};

/** The name a model goes by in a section's record: its model id, or its type for custom models. */
export function chatModelName(model: BaseChatModel): string {
  const name = (model as { model?: unknown }).model;
  return typeof name === "string" && name ? name : model._llmType();
}

function cached<T>(cache: Map<string, T>, key: string, create: () => T): T {
  let value = cache.get(key);
  if (value === undefined) {
    value = create();
    cache.set(key, value);
  }
  return value;
}
