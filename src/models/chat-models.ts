import { ChatOpenAI } from "@langchain/openai";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { secretsOf, type Environment } from "../env.js";
import { InvalidInputError, redact, shortMessage } from "../errors.js";
import type { Configuration } from "../schemas/configuration.js";
import { OFFLINE_NOTICE, OfflineChatModel } from "./offline-chat-model.js";
import { AdaptiveConcurrencyLimiter } from "./adaptive-concurrency.js";
import { createModelFetch } from "./model-fetch.js";
import {
  DEFAULT_PROVIDER,
  ProviderChatModel,
  createProviderClient,
  parseModelName,
  redactingAnswers,
  requireProviderPackage,
} from "./providers.js";
import { retryTransportFailuresOnly } from "./retry-policy.js";

/** Which part of the graph a model serves. */
export type ModelRole = "planner" | "writer" | "aggregator" | "verifier" | "reviewer";

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
  verifierModel?: BaseChatModel;
  reviewerModel?: BaseChatModel;
}

/** Options of `createChatModelProvider`. */
export interface ChatModelProviderOptions extends GivenModels {
  /**
   * Where keys and base URLs (OpenAI, Ollama, Anthropic) come from; see `readEnvironment`. A
   * function is called when a run first needs a model.
   */
  environment: Environment | (() => Environment);
  /** Use the offline model even when a key or base URL is set. */
  offline?: boolean;
  /** Called once, the first time the offline model is chosen (the CLI prints it on stderr). */
  onOfflineModel?: (notice: string) => void;
  /** Secrets to redact from error bodies; defaults to the environment's (`secretsOf`). */
  secrets?: readonly string[];
}

/** Placeholder key for OpenAI-compatible servers that need none (Ollama, vLLM, LM Studio). */
const NO_KEY = "no-key-needed";

/**
 * True when runs will use the offline model: forced, or no OpenAI key and no base URL while an
 * OpenAI model is named. Given a configuration, only the roles it uses count: models of other
 * providers (`ollama:llama3.2`) never fall back to the offline model. Without one, any run with an
 * OpenAI model would.
 */
export function usesOfflineModel(options: {
  environment: Environment;
  offline?: boolean;
  configuration?: Configuration;
}): boolean {
  if (options.offline) return true;
  if (options.environment.openaiApiKey || options.environment.openaiBaseUrl) return false;
  const { configuration } = options;
  return (
    !configuration ||
    rolesIn(configuration).some(
      (role) => parseModelName(modelNameFor(role, configuration)).provider === DEFAULT_PROVIDER,
    )
  );
}

/**
 * The roles a run of this configuration calls a model for: the aggregator only with synthesis llm,
 * the verifier only with verifyCitations llm, the section reviewer only with sectionReview enabled.
 */
function rolesIn(configuration: Configuration): ModelRole[] {
  return [
    "planner",
    "writer",
    ...(configuration.synthesis === "llm" ? (["aggregator"] as const) : []),
    ...(configuration.verifyCitations === "llm" ? (["verifier"] as const) : []),
    ...(configuration.sectionReview.enabled ? (["reviewer"] as const) : []),
  ];
}

/** The configuration field that names a role's model ("plannerModel"). */
export function modelFieldFor(role: ModelRole): `${ModelRole}Model` {
  return `${role}Model`;
}

/** The model name the configuration gives a role: the one mapping from role to model. */
export function modelNameFor(role: ModelRole, configuration: Configuration): string {
  return {
    planner: configuration.plannerModel,
    writer: configuration.writerModel,
    aggregator: configuration.aggregatorModel,
    // Unset, the verifier uses the writers' model: the same server, and no model name to guess.
    verifier: configuration.verifierModel ?? configuration.writerModel,
    reviewer: configuration.reviewerModel ?? configuration.writerModel,
  }[role];
}

/**
 * Checks, before any model call, that every model the configuration names for the roles a run uses
 * can be created: the package of each `provider:model` is installed (else an `InvalidInputError`
 * for `plannerModel`, `writerModel` or `aggregatorModel`, one line naming the package to install)
 * and its client can be built from the environment (a missing key, say). OpenAI models
 * (unprefixed, or `openai:`) need nothing here; with `offline`, nothing is checked.
 */
export async function checkModelNames(
  configuration: Configuration,
  options: { environment: Environment; offline?: boolean; secrets?: readonly string[] },
): Promise<void> {
  if (options.offline) return;
  const secrets = options.secrets ?? secretsOf(options.environment);
  for (const role of rolesIn(configuration)) {
    const field = modelFieldFor(role);
    const spec = parseModelName(modelNameFor(role, configuration));
    if (spec.provider === DEFAULT_PROVIDER) continue;
    await requireProviderPackage(spec, field);
    try {
      await createProviderClient(spec, {
        configuration,
        environment: options.environment,
        secrets,
      });
    } catch (error) {
      throw new InvalidInputError({
        field,
        message: redact(
          `${field} "${spec.provider}:${spec.model}" cannot be used: ${shortMessage(error, { withName: false, redact: (text) => redact(text, secrets) })}`,
          secrets,
        ),
        cause: error,
      });
    }
  }
}

/**
 * The model provider: a model the caller gave for the role (or for every role) first. Else the
 * configured name decides: `provider:model` with a provider `initChatModel` knows (`ollama:`,
 * `anthropic:`, `google-genai:`...) is created through `initChatModel` with that provider's package
 * (see `providerClientFields` for the settings it gets); any other name, and `openai:`, goes to
 * `ChatOpenAI` against OpenAI or any OpenAI-compatible server when `OPENAI_API_KEY` or
 * `OPENAI_BASE_URL` is set, and to the offline model otherwise. Clients are created once per
 * distinct setting and reused, so connections are kept alive across a run's requests and
 * `maxConcurrency` bounds the requests in flight to one provider across all the runs of a process.
 * For `ChatOpenAI` that bound is adaptive, within `maxConcurrency`: its fetch has an
 * `AdaptiveConcurrencyLimiter` that backs off on 429s and rate-limit headers and grows again while
 * requests succeed, and sends rate-limited requests again itself (up to `maxRetries` times). Its
 * `requestTimeoutMs` is enforced by that fetch from when a request leaves the limiter's line, so
 * the SDK's own timeout is left at its default (10 minutes, covering the wait in line): given
 * `requestTimeoutMs`, it would count the wait as the provider being slow.
 * Retries of failed requests and the request timeout are set here, in the client, and nowhere else
 * (see `retryTransportFailuresOnly`).
 */
export function createChatModelProvider(options: ChatModelProviderOptions): ChatModelProvider {
  const clients = new Map<string, BaseChatModel>();
  const providerClients = new Map<string, Promise<BaseChatModel>>();
  // The environment is read when a run first needs a model, not when the graph is built (a
  // program may set OPENAI_BASE_URL after importing the compiled graph).
  let read: { environment: Environment; noOpenAI: boolean; secrets: readonly string[] } | undefined;
  const settle = () => {
    if (!read) {
      const environment =
        typeof options.environment === "function" ? options.environment() : options.environment;
      read = {
        environment,
        noOpenAI: usesOfflineModel({ environment }),
        secrets: options.secrets ?? secretsOf(environment),
      };
    }
    return read;
  };
  let offlineNoticeGiven = false;
  return ({ role, configuration }) => {
    const given = options[`${role}Model`] ?? options.model;
    if (given) return given;
    const spec = parseModelName(modelNameFor(role, configuration));
    const { environment, noOpenAI, secrets } = settle();
    if (options.offline || (noOpenAI && spec.provider === DEFAULT_PROVIDER)) {
      if (!offlineNoticeGiven) {
        offlineNoticeGiven = true;
        options.onOfflineModel?.(OFFLINE_NOTICE);
      }
      return cached(clients, "offline", () => new OfflineChatModel());
    }
    if (spec.provider !== DEFAULT_PROVIDER) {
      const key = JSON.stringify({
        provider: spec.provider,
        model: spec.model,
        temperature: configuration.temperature,
        maxRetries: configuration.maxRetries,
        maxConcurrency: configuration.maxConcurrency,
        timeout: configuration.requestTimeoutMs,
        maxTokens: configuration.maxOutputTokens ?? null,
      });
      const field = modelFieldFor(role);
      return cached(
        clients,
        `${field} ${key}`,
        () =>
          new ProviderChatModel({
            spec,
            field,
            client: () =>
              cached(providerClients, key, () =>
                createProviderClient(spec, {
                  configuration,
                  environment,
                  secrets,
                }),
              ),
          }),
      );
    }
    const settings = {
      model: spec.model,
      temperature: configuration.temperature,
      maxRetries: configuration.maxRetries,
      maxConcurrency: configuration.maxConcurrency,
      timeout: configuration.requestTimeoutMs,
      ...(configuration.maxOutputTokens ? { maxTokens: configuration.maxOutputTokens } : {}),
    };
    return cached(clients, JSON.stringify(settings), () => {
      const { timeout, ...rest } = settings;
      return new ChatOpenAI({
        ...rest,
        onFailedAttempt: retryTransportFailuresOnly,
        apiKey: environment.openaiApiKey ?? NO_KEY,
        configuration: {
          baseURL: environment.openaiBaseUrl,
          fetch: redactingAnswers(
            createModelFetch({
              timeoutMs: timeout,
              secrets,
              limiter: new AdaptiveConcurrencyLimiter({
                maxConcurrency: configuration.maxConcurrency,
              }),
              rateLimitRetries: configuration.maxRetries,
            }),
            secrets,
          ),
        },
      });
    });
  };
}

/**
 * The name a model goes by in a section's record and the usage ledger: its model id (`model`, or
 * `modelName` on older clients; the default model of a configurable model from `initChatModel`,
 * which itself goes by "chat_model"), or its type for custom models.
 */
export function chatModelName(model: BaseChatModel): string {
  const candidate = model as {
    model?: unknown;
    modelName?: unknown;
    _defaultConfig?: { model?: unknown };
  };
  for (const name of [candidate.model, candidate.modelName, candidate._defaultConfig?.model]) {
    if (typeof name === "string" && name) return name;
  }
  return model._llmType();
}

function cached<T>(cache: Map<string, T>, key: string, create: () => T): T {
  let value = cache.get(key);
  if (value === undefined) {
    value = create();
    cache.set(key, value);
  }
  return value;
}
