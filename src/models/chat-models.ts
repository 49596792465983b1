import { ChatOpenAI } from "@langchain/openai";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { secretsOf, type Environment } from "../env.js";
import type { Configuration } from "../schemas/configuration.js";
import { OFFLINE_NOTICE, OfflineChatModel } from "./offline-chat-model.js";
import { createModelFetch } from "./model-fetch.js";
import { retryTransportFailuresOnly } from "./retry-policy.js";

/** Which part of the graph a model serves. */
export type ModelRole = "planner" | "writer" | "aggregator";

/** Returns the chat model for one role under one run's configuration. */
export type ChatModelProvider = (request: {
  role: ModelRole;
  configuration: Configuration;
}) => BaseChatModel;

/** Chat model instances a caller gives: one for every role, and per role (which wins). */
export interface GivenModels {
  model?: BaseChatModel;
  plannerModel?: BaseChatModel;
  writerModel?: BaseChatModel;
  aggregatorModel?: BaseChatModel;
}

/** Options of `createChatModelProvider`. */
export interface ChatModelProviderOptions extends GivenModels {
  /** Where the OpenAI key and base URL come from; see `readEnvironment`. */
  environment: Environment;
  /** Use the offline model even when a key or base URL is set. */
  offline?: boolean;
  /** Called once, the first time the offline model is chosen (the CLI prints it on stderr). */
  onOfflineModel?: (notice: string) => void;
  /** Secrets to redact from error bodies; defaults to the environment's (`secretsOf`). */
  secrets?: readonly string[];
}

/** Placeholder key for OpenAI-compatible servers that need none (Ollama, vLLM, LM Studio). */
const NO_KEY = "no-key-needed";

/** True when runs will use the offline model: forced, or no key and no base URL. */
export function usesOfflineModel(options: {
  environment: Environment;
  offline?: boolean;
}): boolean {
  return Boolean(
    options.offline || (!options.environment.openaiApiKey && !options.environment.openaiBaseUrl),
  );
}

/** The model name the configuration gives a role: the one mapping from role to model. */
export function modelNameFor(role: ModelRole, configuration: Configuration): string {
  return {
    planner: configuration.plannerModel,
    writer: configuration.writerModel,
    aggregator: configuration.aggregatorModel,
  }[role];
}

/**
 * The model provider: a model the caller gave for the role (or for every role) first; else
 * `ChatOpenAI` against OpenAI or any OpenAI-compatible server when `OPENAI_API_KEY` or
 * `OPENAI_BASE_URL` is set, the offline model otherwise. Clients are created once per distinct
 * setting and reused, so connections are kept alive across a run's requests and `maxConcurrency`
 * bounds the requests in flight to one provider across all the runs of a process. Retries of
 * failed requests and the request timeout are set here, in the client, and nowhere else (see
 * `retryTransportFailuresOnly`).
 */
export function createChatModelProvider(options: ChatModelProviderOptions): ChatModelProvider {
  const clients = new Map<string, BaseChatModel>();
  const offline = usesOfflineModel(options);
  let offlineNoticeGiven = false;
  return ({ role, configuration }) => {
    const given = options[`${role}Model`] ?? options.model;
    if (given) return given;
    if (offline) {
      if (!offlineNoticeGiven) {
        offlineNoticeGiven = true;
        options.onOfflineModel?.(OFFLINE_NOTICE);
      }
      return cached(clients, "offline", () => new OfflineChatModel());
    }
    const settings = {
      model: modelNameFor(role, configuration),
      temperature: configuration.temperature,
      maxRetries: configuration.maxRetries,
      maxConcurrency: configuration.maxConcurrency,
      timeout: configuration.requestTimeoutMs,
      ...(configuration.maxOutputTokens ? { maxTokens: configuration.maxOutputTokens } : {}),
    };
    return cached(
      clients,
      JSON.stringify(settings),
      () =>
        new ChatOpenAI({
          ...settings,
          onFailedAttempt: retryTransportFailuresOnly,
          apiKey: options.environment.openaiApiKey ?? NO_KEY,
          configuration: {
            baseURL: options.environment.openaiBaseUrl,
            fetch: createModelFetch({
              timeoutMs: configuration.requestTimeoutMs,
              secrets: options.secrets ?? secretsOf(options.environment),
            }),
          },
        }),
    );
  };
}

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
