import {
  BaseChatModel,
  type BaseChatModelCallOptions,
  type BindToolsInput,
} from "@langchain/core/language_models/chat_models";
import type {
  BaseLanguageModelInput,
  StructuredOutputMethodOptions,
} from "@langchain/core/language_models/base";
import type { CallbackManagerForLLMRun } from "@langchain/core/callbacks/manager";
import type { AIMessageChunk, BaseMessage } from "@langchain/core/messages";
import type { ChatResult } from "@langchain/core/outputs";
import { Runnable, type RunnableConfig } from "@langchain/core/runnables";
import { AsyncCaller, type FailedAttemptHandler } from "@langchain/core/utils/async_caller";
import { MODEL_PROVIDER_CONFIG, initChatModel } from "langchain/chat_models/universal";
import type { Environment } from "../env.js";
import { InvalidInputError, redact, shortMessage } from "../errors.js";
import type { Configuration } from "../schemas/configuration.js";
import { createModelFetch, openAIErrorBody, releasedWithBody } from "./model-fetch.js";
import { retryTransportFailuresOnly } from "./retry-policy.js";

/**
 * The provider of models named without a prefix (and with `openai:`): OpenAI or any
 * OpenAI-compatible server, through `ChatOpenAI` with this package's retry policy and fetch.
 */
export const DEFAULT_PROVIDER = "openai";

/** Where Ollama's native API listens when `OLLAMA_BASE_URL` is unset (Ollama's own default). */
export const DEFAULT_OLLAMA_BASE_URL = "http://127.0.0.1:11434";

/** A model name taken apart: who serves it, and the model id that provider knows it by. */
export interface ModelSpec {
  /** A provider `initChatModel` knows ("openai", "anthropic", "ollama", "google-genai"...). */
  provider: string;
  /** The model id sent to the provider ("gpt-4.1-mini", "llama3.2", "claude-sonnet-4-5"). */
  model: string;
}

/** Providers `initChatModel` (langchain) knows, and the package that holds each one's client. */
const PROVIDER_PACKAGES: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(MODEL_PROVIDER_CONFIG).map(([provider, config]) => [provider, config.package]),
);

/**
 * Provider names `initChatModel` takes that are not prefixes here, because they are also common
 * model ids on OpenAI-compatible servers: Ollama's `mistral:7b` or `mistral:latest` stays the model
 * it was; Mistral's API is `mistralai:`.
 */
const NOT_PREFIXES = new Set(["mistral"]);

/** The providers a model name may be prefixed with (`provider:model`). */
export const MODEL_PROVIDERS: readonly string[] = Object.keys(PROVIDER_PACKAGES).filter(
  (provider) => !NOT_PREFIXES.has(provider),
);

/**
 * Takes a configured model name apart: `provider:model` when the part before the first colon is a
 * provider `initChatModel` knows (`ollama:llama3.2:3b` is Ollama's `llama3.2:3b`); anything else is
 * an OpenAI or OpenAI-compatible model, sent as written. So `gpt-4.1-mini`, `llama3.2:3b` (a tag on
 * an OpenAI-compatible Ollama), `mistral:7b` (see `NOT_PREFIXES`) and
 * `meta-llama/Llama-3.1-8B-Instruct` (vLLM) keep meaning what they meant. A slash never names a
 * provider, since OpenAI-compatible servers use it in model ids (`openai/gpt-4o` on OpenRouter is a
 * model id, not the OpenAI provider).
 */
export function parseModelName(name: string): ModelSpec {
  const colon = name.indexOf(":");
  if (colon > 0) {
    const provider = name.slice(0, colon);
    const model = name.slice(colon + 1);
    if (model && MODEL_PROVIDERS.includes(provider)) return { provider, model };
  }
  return { provider: DEFAULT_PROVIDER, model: name };
}

/** The npm package that holds a provider's chat model class (`@langchain/ollama` for "ollama"). */
export function providerPackage(provider: string): string {
  const name = PROVIDER_PACKAGES[provider];
  if (!name) throw new Error(`Unknown model provider "${provider}".`);
  return name;
}

/**
 * Imports the package of a model's provider, so a missing one is found before any model call:
 * an `InvalidInputError` for `field`, on one line, naming the package to install. Node caches the
 * module, so calling it again costs nothing.
 */
export async function requireProviderPackage(spec: ModelSpec, field: string): Promise<void> {
  const name = providerPackage(spec.provider);
  try {
    await import(name);
  } catch (error) {
    if (!isMissingModule(error, name)) {
      throw new InvalidInputError({
        field,
        message: `${field} "${spec.provider}:${spec.model}": the package ${name} could not be loaded: ${shortMessage(error, { withName: false })}`,
        cause: error,
      });
    }
    throw new InvalidInputError({
      field,
      message: `${field} "${spec.provider}:${spec.model}" needs the package ${name}, which is not installed: npm install ${name}`,
      cause: error,
    });
  }
}

/** True when `error` says the module `name` itself (not one of its dependencies) is not installed. */
function isMissingModule(error: unknown, name: string): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return (
    (code === "ERR_MODULE_NOT_FOUND" ||
      code === "MODULE_NOT_FOUND" ||
      /Cannot find/i.test(message)) &&
    (message.includes(`'${name}'`) || message.includes(`"${name}"`))
  );
}

/** What a provider's client is built from: the run's settings and where keys and URLs come from. */
export interface ProviderClientOptions {
  configuration: Pick<
    Configuration,
    "temperature" | "maxRetries" | "maxConcurrency" | "requestTimeoutMs" | "maxOutputTokens"
  >;
  environment: Environment;
  /** Secrets to redact from error bodies. */
  secrets: readonly string[];
}

/** The constructor field that caps a provider's answer length, where it is not `maxTokens`. */
const TOKEN_LIMIT_FIELD: Readonly<Record<string, string>> = {
  ollama: "numPredict",
  google: "maxOutputTokens",
  "google-genai": "maxOutputTokens",
  "google-vertexai": "maxOutputTokens",
  "google-vertexai-web": "maxOutputTokens",
};

/**
 * The constructor fields `initChatModel` passes to a provider's chat model class: the same settings
 * the OpenAI path uses, under each client's own names.
 * - Every provider: `temperature`, and the answer cap from `maxOutputTokens` (`maxTokens`,
 *   `numPredict` for Ollama, `maxOutputTokens` for Google's).
 * - Providers whose client sends requests through LangChain's retrying caller (Anthropic, Google,
 *   Mistral, Groq, Bedrock...): `maxRetries`, `maxConcurrency` and `onFailedAttempt` (this
 *   package's `retryTransportFailuresOnly`).
 * - `ollama`: `baseUrl` from `OLLAMA_BASE_URL` (else Ollama's default), and a `fetch` that does
 *   what its client does not: the time limit on the whole request, retries of transport failures
 *   with the same policy, the bound on requests in flight, and redacted error bodies.
 * - `anthropic`: the key from `ANTHROPIC_API_KEY` and the URL from `ANTHROPIC_BASE_URL` when set,
 *   and the time limit and redacting `fetch` as `clientOptions`.
 * - `azure_openai` and `langsmith` (ChatOpenAI underneath): the timeout and the OpenAI path's fetch.
 * Other providers read their keys from their own environment variables.
 */
export function providerClientFields(
  provider: string,
  options: ProviderClientOptions,
): Record<string, unknown> {
  const { configuration, environment, secrets } = options;
  const timeoutMs = configuration.requestTimeoutMs;
  const limit = configuration.maxOutputTokens
    ? { [TOKEN_LIMIT_FIELD[provider] ?? "maxTokens"]: configuration.maxOutputTokens }
    : {};
  const retries = {
    maxRetries: configuration.maxRetries,
    maxConcurrency: configuration.maxConcurrency,
    onFailedAttempt: retryTransportFailuresOnly,
  };
  switch (provider) {
    case "ollama":
      // ChatOllama never uses its caller: the fetch retries and bounds its requests instead.
      return {
        temperature: configuration.temperature,
        ...limit,
        baseUrl: environment.ollamaBaseUrl ?? DEFAULT_OLLAMA_BASE_URL,
        fetch: redactingAnswers(
          createProviderFetch({ timeoutMs, secrets, requests: retries }),
          secrets,
        ),
      };
    case "anthropic":
      return {
        temperature: configuration.temperature,
        ...retries,
        ...limit,
        ...(environment.anthropicApiKey ? { apiKey: environment.anthropicApiKey } : {}),
        ...(environment.anthropicBaseUrl ? { anthropicApiUrl: environment.anthropicBaseUrl } : {}),
        clientOptions: {
          timeout: timeoutMs,
          fetch: redactingAnswers(createProviderFetch({ timeoutMs, secrets }), secrets),
        },
      };
    case "azure_openai":
    case "langsmith":
      return {
        temperature: configuration.temperature,
        ...retries,
        ...limit,
        timeout: timeoutMs,
        configuration: {
          fetch: redactingAnswers(createModelFetch({ timeoutMs, secrets }), secrets),
        },
      };
    default:
      return { temperature: configuration.temperature, ...retries, ...limit };
  }
}

/**
 * Creates a provider's chat model through `initChatModel` (langchain), as the LangGraph.js
 * templates' `loadChatModel` does, and returns the provider's own client (`ChatOllama`,
 * `ChatAnthropic`...), not `initChatModel`'s configurable wrapper: the wrapper goes by "chat_model"
 * and builds a fresh client for every `bindTools` and `withStructuredOutput`, which would lose the
 * bound on requests in flight that one shared client keeps. A constructor error (a missing key) is
 * thrown here, before any request.
 */
export async function createProviderClient(
  spec: ModelSpec,
  options: ProviderClientOptions,
): Promise<BaseChatModel> {
  const configurable = await initChatModel(spec.model, {
    modelProvider: spec.provider,
    ...providerClientFields(spec.provider, options),
  });
  return configurable._getModelInstance();
}

/**
 * A provider's chat model as the graph sees it, available at once although its client is created
 * asynchronously (its package is imported on first use): it goes by the provider's model id (what
 * the ledger records) and hands every call, `bindTools` and `withStructuredOutput` to the one
 * client it shares with every other role and run that uses the same settings, so no run of its own
 * appears in traces. A missing package fails the first call with the `InvalidInputError` of
 * `requireProviderPackage`.
 */
export class ProviderChatModel extends BaseChatModel {
  /** The model id the provider knows (`llama3.2` for `ollama:llama3.2`). */
  readonly model: string;
  /** The provider ("ollama", "anthropic"...). */
  readonly provider: string;
  private readonly field: string;
  private readonly createClient: () => Promise<BaseChatModel>;
  private resolved?: Promise<BaseChatModel>;

  constructor(fields: {
    spec: ModelSpec;
    /** The configuration field the model was named in, for errors ("writerModel"). */
    field: string;
    /** The shared client (called once). */
    client: () => Promise<BaseChatModel>;
  }) {
    super({});
    this.model = fields.spec.model;
    this.provider = fields.spec.provider;
    this.field = fields.field;
    this.createClient = fields.client;
  }

  static override lc_name(): string {
    return "ProviderChatModel";
  }

  override _llmType(): string {
    return this.provider;
  }

  /** The provider's client, its package imported first (one-line error when it is missing). */
  client(): Promise<BaseChatModel> {
    this.resolved ??= requireProviderPackage(
      { provider: this.provider, model: this.model },
      this.field,
    ).then(this.createClient);
    return this.resolved;
  }

  override async invoke(
    input: BaseLanguageModelInput,
    options?: BaseChatModelCallOptions,
  ): Promise<AIMessageChunk> {
    return (await this.client()).invoke(input, options);
  }

  override async *_streamIterator(
    input: BaseLanguageModelInput,
    options?: BaseChatModelCallOptions,
  ): AsyncGenerator<AIMessageChunk> {
    yield* await (await this.client()).stream(input, options);
  }

  override async _generate(
    messages: BaseMessage[],
    options: this["ParsedCallOptions"],
    runManager?: CallbackManagerForLLMRun,
  ): Promise<ChatResult> {
    return (await this.client())._generate(messages, options, runManager);
  }

  override getLsParams(options: this["ParsedCallOptions"]) {
    return { ...super.getLsParams(options), ls_provider: this.provider, ls_model_name: this.model };
  }

  override bindTools(
    tools: BindToolsInput[],
    kwargs?: Partial<BaseChatModelCallOptions>,
  ): Runnable<BaseLanguageModelInput, AIMessageChunk, BaseChatModelCallOptions> {
    return new DeferredRunnable(async () => {
      const client = await this.client();
      if (typeof client.bindTools !== "function") {
        throw new Error(`${this.provider} models cannot call tools (${this.model}).`);
      }
      return client.bindTools(tools, kwargs);
    });
  }

  override withStructuredOutput(
    outputSchema: object,
    config?: StructuredOutputMethodOptions<boolean>,
    // The base class declares one overload per schema kind; one implementation serves them all.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
  ): Runnable<BaseLanguageModelInput, any> {
    return new DeferredRunnable(async () =>
      (await this.client()).withStructuredOutput(
        outputSchema as Record<string, unknown>,
        config as StructuredOutputMethodOptions<false>,
      ),
    );
  }
}

/** A runnable made on first use (from the provider's client), then called as itself. */
class DeferredRunnable<
  RunInput,
  RunOutput,
  CallOptions extends RunnableConfig = RunnableConfig,
> extends Runnable<RunInput, RunOutput, CallOptions> {
  lc_namespace = ["orchestrator_workers", "models"];
  private target?: Promise<Runnable<RunInput, RunOutput, CallOptions>>;

  constructor(private readonly create: () => Promise<Runnable<RunInput, RunOutput, CallOptions>>) {
    super();
  }

  private resolve(): Promise<Runnable<RunInput, RunOutput, CallOptions>> {
    this.target ??= this.create();
    return this.target;
  }

  override async invoke(input: RunInput, options?: Partial<CallOptions>): Promise<RunOutput> {
    return (await this.resolve()).invoke(input, options);
  }

  override async *_streamIterator(
    input: RunInput,
    options?: Partial<CallOptions>,
  ): AsyncGenerator<RunOutput> {
    yield* await (await this.resolve()).stream(input, options);
  }
}

/** Options of `createProviderFetch`. */
export interface ProviderFetchOptions {
  /** Time limit of one request, response body included, in milliseconds. */
  timeoutMs?: number;
  /** Secrets that must not survive in an error body. */
  secrets?: readonly string[];
  /**
   * For clients that send requests themselves, without LangChain's retrying caller (Ollama's):
   * failed requests are retried here (`onFailedAttempt` decides, with backoff and jitter), and at
   * most `maxConcurrency` requests are in flight at once, each until its body is read. An error
   * status is then thrown as an error with `status`, `headers` and the server's message.
   */
  requests?: {
    maxRetries: number;
    maxConcurrency: number;
    onFailedAttempt: FailedAttemptHandler;
  };
}

/**
 * The `fetch` of providers other than OpenAI: the platform's, with a time limit on the whole
 * request (body included) and every configured secret redacted from error bodies, which keep the
 * shape the provider's SDK reads. With `requests`, it also retries and bounds requests (see
 * `ProviderFetchOptions`).
 */
export function createProviderFetch(options: ProviderFetchOptions = {}): typeof fetch {
  const { timeoutMs, secrets = [], requests } = options;
  const attempt = async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
    const signal = timeoutMs
      ? AbortSignal.any([...(init?.signal ? [init.signal] : []), AbortSignal.timeout(timeoutMs)])
      : init?.signal;
    const response = await fetch(input, { ...init, signal });
    if (response.ok) return { response, signal };
    const text = redact(await response.text(), secrets);
    if (requests) throw new ProviderHttpError(response, text);
    const headers = new Headers(response.headers);
    headers.delete("content-length");
    headers.delete("content-encoding");
    return {
      response: new Response(text, {
        status: response.status,
        statusText: response.statusText,
        headers,
      }),
      signal,
    };
  };
  if (!requests) return async (input, init) => (await attempt(input, init)).response;

  const caller = new AsyncCaller({
    maxRetries: requests.maxRetries,
    onFailedAttempt: requests.onFailedAttempt,
  });
  const slots = createSlots(requests.maxConcurrency);
  return async (input, init) => {
    const release = await slots.acquire(init?.signal ?? undefined);
    try {
      const { response, signal } = await caller.call(() => attempt(input, init));
      return releasedWithBody(response, release, signal ?? undefined);
    } catch (error) {
      release();
      throw error;
    }
  };
}

/**
 * A model client's `fetch` whose successful JSON answers have every configured secret redacted
 * before the client reads them: a model that quotes a key then quotes `[redacted]` in its run's
 * trace, its message and everything made from it. Streamed answers (server-sent events, NDJSON)
 * pass as they are, since a token stream splits a secret; the graph redacts what it stores anyway.
 */
export function redactingAnswers(
  fetchFunction: typeof fetch,
  secrets: readonly string[],
): typeof fetch {
  if (secrets.length === 0) return fetchFunction;
  return async (input, init) => {
    const response = await fetchFunction(input, init);
    const type = response.headers.get("content-type") ?? "";
    if (!response.ok || !/\bjson\b/i.test(type) || /ndjson/i.test(type)) return response;
    // The body is read when the client reads it, so a body that fails (a time limit) fails there,
    // as it would have unwrapped.
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        try {
          controller.enqueue(new TextEncoder().encode(redact(await response.text(), secrets)));
          controller.close();
        } catch (error) {
          controller.error(error);
        }
      },
    });
    const headers = new Headers(response.headers);
    headers.delete("content-length");
    headers.delete("content-encoding");
    return new Response(body, {
      status: response.status,
      statusText: response.statusText,
      headers,
    });
  };
}

/** An error status from a provider's server, thrown by `createProviderFetch` with `requests`. */
export class ProviderHttpError extends Error {
  readonly status: number;
  readonly headers: Headers;
  /** The body, secrets redacted. */
  readonly body: string;

  constructor(response: Response, body: string) {
    super(`${response.status} ${serverMessage(body) || response.statusText || "(no body)"}`);
    this.name = "ProviderHttpError";
    this.status = response.status;
    this.headers = response.headers;
    this.body = body;
  }
}

/** What the server said, from any of the error body shapes servers use. */
function serverMessage(body: string): string {
  try {
    const parsed = JSON.parse(openAIErrorBody(body)) as { error?: { message?: unknown } };
    if (typeof parsed.error?.message === "string") return parsed.error.message;
  } catch {
    // Not JSON: the text itself.
  }
  return body.trim().replace(/\s+/g, " ").slice(0, 1000);
}

/** At most `max` holders at once; the others wait in line (or leave it when their signal aborts). */
function createSlots(max: number) {
  let active = 0;
  const waiting: (() => void)[] = [];
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else active -= 1;
  };
  return {
    async acquire(signal?: AbortSignal): Promise<() => void> {
      signal?.throwIfAborted();
      if (active < max) {
        active += 1;
      } else {
        await new Promise<void>((resolve, reject) => {
          const turn = () => {
            signal?.removeEventListener("abort", leave);
            resolve();
          };
          const leave = () => {
            const index = waiting.indexOf(turn);
            if (index >= 0) waiting.splice(index, 1);
            reject(signal?.reason instanceof Error ? signal.reason : new Error("Aborted"));
          };
          waiting.push(turn);
          signal?.addEventListener("abort", leave, { once: true });
        });
      }
      let released = false;
      return () => {
        if (released) return;
        released = true;
        release();
      };
    },
  };
}
