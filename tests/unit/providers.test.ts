import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { ChatOpenAI } from "@langchain/openai";
import { initChatModel } from "langchain/chat_models/universal";
import { InvalidInputError } from "../../src/errors.js";
import { buildGraph } from "../../src/graph/graph.js";
import {
  chatModelName,
  checkModelNames,
  createChatModelProvider,
  usesOfflineModel,
} from "../../src/models/chat-models.js";
import { retryTransportFailuresOnly } from "../../src/models/retry-policy.js";
import {
  ProviderHttpError,
  createProviderFetch,
  parseModelName,
  providerPackage,
} from "../../src/models/providers.js";
import { resolveConfiguration } from "../../src/schemas/configuration.js";
import {
  defaultPlan,
  startOpenAIServer,
  type OpenAIServer,
  type RecordedRequest,
} from "../../src/testing/index.js";
import { headings } from "../helpers/report.js";

const API_KEY = "sk-test-0123456789-SECRET";
const NO_OPENAI = { workingDirectory: "." };

function openAIEnvironment(server: OpenAIServer) {
  return { openaiApiKey: API_KEY, openaiBaseUrl: server.baseURL, workingDirectory: "." };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe("model names: provider:model", () => {
  test.each([
    ["gpt-4.1-mini", "openai", "gpt-4.1-mini"],
    ["openai:gpt-4.1-mini", "openai", "gpt-4.1-mini"],
    ["ollama:llama3.2", "ollama", "llama3.2"],
    ["ollama:llama3.2:3b", "ollama", "llama3.2:3b"],
    ["anthropic:claude-sonnet-4-5", "anthropic", "claude-sonnet-4-5"],
    ["google-genai:gemini-2.0-flash", "google-genai", "gemini-2.0-flash"],
    // Not a provider: an OpenAI-compatible model id, sent as written.
    ["llama3.2:3b", "openai", "llama3.2:3b"],
    ["mistral:7b", "openai", "mistral:7b"],
    ["mistralai:mistral-large-latest", "mistralai", "mistral-large-latest"],
    ["meta-llama/Llama-3.1-8B-Instruct", "openai", "meta-llama/Llama-3.1-8B-Instruct"],
    ["openai/gpt-4o", "openai", "openai/gpt-4o"],
    ["anthropic/claude-3.5-sonnet", "openai", "anthropic/claude-3.5-sonnet"],
    ["ollama:", "openai", "ollama:"],
  ])("%s is %s's %s", (name, provider, model) => {
    expect(parseModelName(name)).toEqual({ provider, model });
  });

  test("each provider's package comes from initChatModel's table", () => {
    expect(providerPackage("ollama")).toBe("@langchain/ollama");
    expect(providerPackage("google-genai")).toBe("@langchain/google-genai");
    expect(providerPackage("anthropic")).toBe("@langchain/anthropic");
  });
});

describe("openai: is the default provider, prefixed or not", () => {
  let servers: OpenAIServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.map((server) => server.close()));
    servers = [];
  });

  /** What a run sent, in an order that does not depend on which worker finished first. */
  async function requestsOf(model: string) {
    const server = await startOpenAIServer({ plan: defaultPlan(3) });
    servers.push(server);
    const result = await buildGraph({ environment: openAIEnvironment(server) }).invoke(
      { topic: "Tides" },
      { configurable: { plannerModel: model, writerModel: model } },
    );
    const key = (request: RecordedRequest) => `${request.kind} ${request.sectionName ?? ""}`;
    const requests = [...server.requests]
      .sort((a, b) => key(a).localeCompare(key(b)))
      .map((request) => ({
        kind: request.kind,
        sectionName: request.sectionName,
        body: request.body,
        authorization: request.headers.authorization,
      }));
    return { requests, result };
  }

  test("openai:local-model makes the same requests as local-model, with model local-model", async () => {
    const plain = await requestsOf("local-model");
    const prefixed = await requestsOf("openai:local-model");
    expect(prefixed.requests).toHaveLength(4);
    expect(prefixed.requests).toEqual(plain.requests);
    for (const request of prefixed.requests) {
      expect(request.body.model).toBe("local-model");
      expect(request.authorization).toBe(`Bearer ${API_KEY}`);
    }
    expect(prefixed.requests[0]!.body.response_format?.type).toBe("json_schema");
    expect(headings(prefixed.result.report)).toEqual(["Part 1", "Part 2", "Part 3"]);
    expect(prefixed.result.completedSections.map((section) => section.model)).toEqual(
      Array(3).fill("local-model"),
    );
    expect(prefixed.result.usage!.unpricedModels).toEqual(["local-model"]);
  });

  test("both names get the one ChatOpenAI client of their settings", () => {
    const provider = createChatModelProvider({
      environment: { openaiApiKey: API_KEY, workingDirectory: "." },
    });
    const plain = provider({
      role: "writer",
      configuration: resolveConfiguration({ configurable: { writerModel: "gpt-4.1-mini" } }),
    });
    const prefixed = provider({
      role: "planner",
      configuration: resolveConfiguration({
        configurable: { plannerModel: "openai:gpt-4.1-mini" },
      }),
    });
    expect(prefixed).toBe(plain);
    expect(prefixed).toBeInstanceOf(ChatOpenAI);
    expect(chatModelName(prefixed)).toBe("gpt-4.1-mini");
  });
});

describe("a provider whose package is not installed", () => {
  test("checkModelNames names the package to install, for the field that names the model", async () => {
    const error = await rejection(
      checkModelNames(
        resolveConfiguration({ configurable: { plannerModel: "google-genai:gemini-2.0-flash" } }),
        { environment: NO_OPENAI },
      ),
    );
    expect(InvalidInputError.isInstance(error)).toBe(true);
    const { field, message } = error as InvalidInputError;
    expect(field).toBe("plannerModel");
    expect(message).toBe(
      'plannerModel "google-genai:gemini-2.0-flash" needs the package @langchain/google-genai, which is not installed: npm install @langchain/google-genai',
    );
    expect(message).not.toContain("\n");
  });

  test("each role's field: writerModel, and aggregatorModel only when synthesis uses it", async () => {
    const writer = await rejection(
      checkModelNames(
        resolveConfiguration({ configurable: { writerModel: "anthropic:claude-sonnet-4-5" } }),
        { environment: NO_OPENAI },
      ),
    );
    expect((writer as InvalidInputError).field).toBe("writerModel");
    expect((writer as InvalidInputError).message).toContain("npm install @langchain/anthropic");

    const unused = resolveConfiguration({
      configurable: { aggregatorModel: "google-genai:gemini-2.0-flash", synthesis: "join" },
    });
    await expect(checkModelNames(unused, { environment: NO_OPENAI })).resolves.toBeUndefined();
    const used = await rejection(
      checkModelNames({ ...unused, synthesis: "llm" }, { environment: NO_OPENAI }),
    );
    expect((used as InvalidInputError).field).toBe("aggregatorModel");
  });

  test("offline runs check nothing; OpenAI models need no package check", async () => {
    const configuration = resolveConfiguration({
      configurable: { plannerModel: "google-genai:gemini-2.0-flash" },
    });
    await expect(
      checkModelNames(configuration, { environment: NO_OPENAI, offline: true }),
    ).resolves.toBeUndefined();
    await expect(
      checkModelNames(resolveConfiguration({ configurable: { plannerModel: "openai:gpt-4o" } }), {
        environment: NO_OPENAI,
      }),
    ).resolves.toBeUndefined();
  });

  test("a run without the check fails on the planner's first call with the same error, and sends nothing", async () => {
    const server = await startOpenAIServer({ plan: defaultPlan(2) });
    try {
      const error = await rejection(
        buildGraph({ environment: openAIEnvironment(server) }).invoke(
          { topic: "Tides" },
          { configurable: { plannerModel: "google-genai:gemini-2.0-flash" } },
        ),
      );
      expect(InvalidInputError.isInstance(error)).toBe(true);
      expect((error as InvalidInputError).field).toBe("plannerModel");
      expect((error as Error).message).toContain("npm install @langchain/google-genai");
      expect(server.requests).toHaveLength(0);
    } finally {
      await server.close();
    }
  });

  test("a client that cannot be built (no key) is an InvalidInputError before any call", async () => {
    // AzureChatOpenAI reads its key from the process environment: make sure there is none.
    const saved = { ...process.env };
    for (const name of Object.keys(process.env)) {
      if (name.startsWith("AZURE_OPENAI")) delete process.env[name];
    }
    const error = await rejection(
      checkModelNames(
        resolveConfiguration({ configurable: { plannerModel: "azure_openai:gpt-4o" } }),
        { environment: NO_OPENAI },
      ),
    );
    expect(InvalidInputError.isInstance(error)).toBe(true);
    expect((error as InvalidInputError).field).toBe("plannerModel");
    expect((error as Error).message).toMatch(
      /^plannerModel "azure_openai:gpt-4o" cannot be used: /,
    );
    Object.assign(process.env, saved);
  });
});

describe("offline model and model names with other providers", () => {
  test("no OpenAI settings: only OpenAI models fall back to the offline model", () => {
    const ollamaOnly = resolveConfiguration({
      configurable: { plannerModel: "ollama:llama3.2", writerModel: "ollama:llama3.2" },
    });
    expect(usesOfflineModel({ environment: NO_OPENAI, configuration: ollamaOnly })).toBe(false);
    expect(usesOfflineModel({ environment: NO_OPENAI })).toBe(true);
    expect(
      usesOfflineModel({ environment: NO_OPENAI, configuration: resolveConfiguration({}) }),
    ).toBe(true);
    expect(
      usesOfflineModel({ environment: NO_OPENAI, configuration: ollamaOnly, offline: true }),
    ).toBe(true);

    const notices: string[] = [];
    const provider = createChatModelProvider({
      environment: NO_OPENAI,
      onOfflineModel: (notice) => notices.push(notice),
    });
    const mixed = resolveConfiguration({
      configurable: { plannerModel: "ollama:llama3.2", writerModel: "gpt-4.1-mini" },
    });
    const planner = provider({ role: "planner", configuration: mixed });
    expect(chatModelName(planner)).toBe("llama3.2");
    expect(planner._llmType()).toBe("ollama");
    expect(notices).toEqual([]);
    expect(provider({ role: "writer", configuration: mixed })._llmType()).toBe("offline");
    expect(notices).toHaveLength(1);
  });

  test("chatModelName reads the model id of initChatModel's configurable model, not chat_model", async () => {
    const model = await initChatModel("ollama:llama3.2", { baseUrl: "http://127.0.0.1:9" });
    expect(model._llmType()).toBe("chat_model");
    expect(chatModelName(model)).toBe("llama3.2");
    expect(chatModelName(await model._getModelInstance())).toBe("llama3.2");
  });
});

describe("createProviderFetch", () => {
  test("an error status is thrown with the server's message, secrets redacted; 4xx is not retried, 5xx is", async () => {
    let hits = 0;
    const server = createServer((request, response) => {
      hits += 1;
      const status =
        request.url === "/busy" && hits === 1 ? 503 : request.url === "/busy" ? 200 : 400;
      response.writeHead(status, { "content-type": "application/json" });
      response.end(
        status === 200 ? '{"ok":true}' : JSON.stringify({ error: `bad key ${API_KEY}` }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const fetch = createProviderFetch({
        secrets: [API_KEY],
        timeoutMs: 5000,
        requests: { maxRetries: 2, maxConcurrency: 1, onFailedAttempt: retryTransportFailuresOnly },
      });
      const error = await rejection(fetch(`${base}/refused`));
      expect(error).toBeInstanceOf(ProviderHttpError);
      expect((error as ProviderHttpError).status).toBe(400);
      expect((error as Error).message).toBe("400 bad key [redacted]");
      expect(hits).toBe(1);

      hits = 0;
      const response = await fetch(`${base}/busy`);
      expect(await response.json()).toEqual({ ok: true });
      expect(hits).toBe(2);

      // Without `requests`, the error body keeps its shape for the provider's SDK, redacted.
      const plain = await createProviderFetch({ secrets: [API_KEY] })(`${base}/refused`);
      expect(plain.status).toBe(400);
      expect(await plain.json()).toEqual({ error: "bad key [redacted]" });
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
