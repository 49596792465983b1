import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildGraph } from "../../src/graph/graph.js";
import { checkModelNames } from "../../src/models/chat-models.js";
import { resolveConfiguration } from "../../src/schemas/configuration.js";
import { createSourcesTool } from "../../src/tools/sources.js";
import {
  defaultPlan,
  startOllamaServer,
  type OllamaRequest,
  type OllamaServer,
} from "../../src/testing/index.js";
import { headings } from "../helpers/report.js";

/** The environment of a user with Ollama and no OpenAI settings at all. */
function environmentFor(server: OllamaServer) {
  return { ollamaBaseUrl: server.baseUrl, workingDirectory: "." };
}

const OLLAMA = { plannerModel: "ollama:llama3.2", writerModel: "ollama:llama3.2" };

describe("provider:model through initChatModel: the real ChatOllama client against a fake Ollama API", () => {
  let server: OllamaServer;
  afterEach(async () => server?.close());

  test("a whole report: plan order kept, every request at the fake server, the ledger names llama3.2", async () => {
    const plan = defaultPlan(5);
    server = await startOllamaServer({
      plan,
      models: ["llama3.2"],
      latencyMs: (request) => (request.kind === "plan" ? 0 : Math.floor(Math.random() * 60)),
    });
    const offlineNotices: string[] = [];
    const result = await buildGraph({
      environment: environmentFor(server),
      onOfflineModel: (notice) => offlineNotices.push(notice),
    }).invoke({ topic: "How tides work" }, { configurable: { ...OLLAMA, maxOutputTokens: 900 } });

    expect(headings(result.report)).toEqual(plan.map((section) => section.name));
    expect(result.report).toContain('## Part 3\n\nText of section "Part 3" from Ollama.');
    expect(offlineNotices).toEqual([]);
    // One plan request, asked as Ollama's structured output (a JSON schema in `format`), and one
    // request per section, all to the native API with the model id and the run's settings.
    expect(server.planRequests()).toHaveLength(1);
    expect(server.sectionRequests()).toHaveLength(5);
    expect(server.requests).toHaveLength(6);
    const [planRequest] = server.planRequests();
    expect(planRequest!.body.format).toMatchObject({ type: "object" });
    expect(planRequest!.prompt).toContain("How tides work");
    for (const request of server.requests) {
      expect(request.body.model).toBe("llama3.2");
      expect(request.body.stream).toBe(true);
      expect(request.body.options).toMatchObject({ temperature: 0.2, num_predict: 900 });
    }
    expect(
      server
        .sectionRequests()
        .map((request) => request.sectionName)
        .sort(),
    ).toEqual(plan.map((section) => section.name));
    // The ledger records the model Ollama served, priced as unknown, with the server's counts.
    expect(result.completedSections.map((section) => section.model)).toEqual(
      Array(5).fill("llama3.2"),
    );
    const sum = (requests: OllamaRequest[]) => {
      const input = requests.reduce(
        (total, request) => total + request.usage!.prompt_eval_count,
        0,
      );
      const output = requests.reduce((total, request) => total + request.usage!.eval_count, 0);
      return { input, output, total: input + output };
    };
    const usage = result.usage!;
    expect(usage.unpricedModels).toEqual(["llama3.2"]);
    expect(usage.estimatedCostUsd).toBeNull();
    expect(usage.total).toEqual(sum(server.requests));
    expect(usage.planner).toEqual(sum(server.planRequests()));
    expect(result.report).toContain("estimated cost unknown (no price for llama3.2)");
  });

  test("the planner through a tool call (structuredOutput toolCalling), the aggregator through JSON schema", async () => {
    server = await startOllamaServer({ plan: defaultPlan(2) });
    const result = await buildGraph({ environment: environmentFor(server) }).invoke(
      { topic: "Tides" },
      {
        configurable: {
          ...OLLAMA,
          aggregatorModel: "ollama:qwen3:8b",
          synthesis: "llm",
          structuredOutput: "toolCalling",
        },
      },
    );
    const [planRequest] = server.planRequests();
    expect(planRequest!.tools).toEqual(["plan"]);
    expect(planRequest!.body.format).toBeUndefined();
    const synthesis = server.requests.filter((request) => request.kind === "synthesis");
    expect(synthesis).toHaveLength(1);
    expect(synthesis[0]!.body.model).toBe("qwen3:8b");
    expect(synthesis[0]!.tools).toEqual(["synthesis"]);
    expect(result.report).toContain("Ollama introduction.");
    expect(result.report).toContain("Ollama conclusion.");
    expect(headings(result.report)).toEqual(expect.arrayContaining(["Part 1", "Part 2"]));
  });

  test("section text streams token by token in messages mode, each chunk naming its section", async () => {
    server = await startOllamaServer({ plan: defaultPlan(2) });
    const tokens = new Map<string, string[]>();
    for await (const [chunk, metadata] of await buildGraph({
      environment: environmentFor(server),
    }).stream({ topic: "Tides" }, { streamMode: "messages", configurable: OLLAMA })) {
      if (metadata.langgraph_node !== "worker") continue;
      const key = `${String(metadata.section_id)} ${String(metadata.section_name)}`;
      tokens.set(key, [...(tokens.get(key) ?? []), chunk.text]);
    }
    expect(Object.fromEntries([...tokens].map(([key, pieces]) => [key, pieces.join("")]))).toEqual({
      "s1 Part 1": 'Text of section "Part 1" from Ollama.\n\nMore about Part 1.',
      "s2 Part 2": 'Text of section "Part 2" from Ollama.\n\nMore about Part 2.',
    });
    expect([...tokens.values()].every((pieces) => pieces.length > 3)).toBe(true);
  });

  test("a writer with tools: Ollama's tool call (object arguments) runs the tool, and its result goes back", async () => {
    server = await startOllamaServer({ plan: defaultPlan(2) });
    const directory = await mkdtemp(join(tmpdir(), "sources-"));
    await writeFile(join(directory, "part-1.md"), "# Part 1\n\nFacts about Part 1.\n");
    await writeFile(join(directory, "part-2.md"), "# Part 2\n\nFacts about Part 2.\n");
    const result = await buildGraph({
      environment: environmentFor(server),
      tools: [await createSourcesTool({ directory })],
    }).invoke({ topic: "Tides" }, { configurable: OLLAMA });

    const sections = server.sectionRequests();
    // Per section: the request offering the tool, then the one carrying its result.
    expect(sections).toHaveLength(4);
    const withResults = sections.filter((request) => request.toolResults.length > 0);
    expect(withResults).toHaveLength(2);
    for (const request of withResults) {
      expect(request.body.messages.some((message) => message.tool_calls?.length)).toBe(true);
    }
    expect(result.completedSections).toHaveLength(2);
    expect(result.completedSections.every((section) => section.content.includes("["))).toBe(true);
  });

  test("transport failures are retried and the bound on requests in flight holds across runs", async () => {
    let failures = 1;
    server = await startOllamaServer({
      plan: defaultPlan(4),
      latencyMs: (request) => (request.kind === "section" ? 40 : 0),
      respond: (request) =>
        request.kind === "section" && failures-- > 0
          ? { status: 503, body: { error: "server busy" } }
          : undefined,
    });
    const graph = buildGraph({ environment: environmentFor(server) });
    const configurable = { ...OLLAMA, maxConcurrency: 2 };
    const results = await Promise.all([
      graph.invoke({ topic: "Tides" }, { configurable }),
      graph.invoke({ topic: "Waves" }, { configurable }),
    ]);
    for (const result of results) {
      expect(result.failedSections).toEqual([]);
      expect(headings(result.report)).toEqual(["Part 1", "Part 2", "Part 3", "Part 4"]);
    }
    // Eight sections and one retried 503; never more than two requests at once, as configured.
    expect(server.sectionRequests()).toHaveLength(9);
    expect(server.maxInFlight()).toBeLessThanOrEqual(2);
  });

  test("a refused request is not retried and its message reaches the failed section", async () => {
    server = await startOllamaServer({ plan: defaultPlan(1), models: ["llama3.2"] });
    const result = await buildGraph({ environment: environmentFor(server) }).invoke(
      { topic: "Tides" },
      { configurable: { plannerModel: "ollama:llama3.2", writerModel: "ollama:mistral" } },
    );
    expect(server.sectionRequests()).toHaveLength(1);
    expect(result.failedSections).toHaveLength(1);
    expect(result.failedSections[0]!.error).toContain(
      'model "mistral" not found, try pulling it first',
    );
  });

  test("checkModelNames passes when the provider's package is installed and the client can be built", async () => {
    server = await startOllamaServer();
    await expect(
      checkModelNames(resolveConfiguration({ configurable: OLLAMA }), {
        environment: environmentFor(server),
      }),
    ).resolves.toBeUndefined();
    expect(server.requests).toHaveLength(0);
  });
});
