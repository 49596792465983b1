import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ChatOpenAI } from "@langchain/openai";
import { createSourcesTool } from "../../src/tools/sources.js";
import { headings } from "../helpers/report.js";
import { buildGraph } from "../../src/graph/graph.js";
import { InvalidInputError } from "../../src/errors.js";
import {
  startOpenAIServer,
  type OpenAIServer,
  type RecordedRequest,
} from "../../src/testing/index.js";
import { defaultPlan } from "../../src/testing/index.js";

const API_KEY = "sk-test-0123456789-SECRET";

/** The graph as a user builds it from the environment: real ChatOpenAI clients over HTTP. */
function graphFor(server: OpenAIServer) {
  return buildGraph({
    environment: { openaiApiKey: API_KEY, openaiBaseUrl: server.baseURL, workingDirectory: "." },
  });
}

describe("report graph with the real ChatOpenAI client against a local server", () => {
  let server: OpenAIServer;
  afterEach(async () => server?.close());

  test("a 7-section plan makes 1 plan call and 7 worker calls, and keeps plan order when workers finish in random order", async () => {
    const plan = defaultPlan(7);
    server = await startOpenAIServer({
      plan,
      latencyMs: (request) => (request.kind === "plan" ? 0 : Math.floor(Math.random() * 60)),
    });
    const result = await graphFor(server).invoke(
      { topic: "How tides work" },
      { configurable: { maxRetries: 0 } },
    );

    expect(server.planRequests()).toHaveLength(1);
    expect(server.sectionRequests()).toHaveLength(7);
    expect(headings(result.report)).toEqual(plan.map((section) => section.name));
    expect(result.completedSections).toHaveLength(7);
    expect(new Set(result.completedSections.map((section) => section.id)).size).toBe(7);
    expect(result.report).toContain('## Part 3\n\nText of section "Part 3".');
    // Structured output went out as a JSON schema, and the planner was told the bound.
    expect(server.planRequests()[0]!.body.response_format?.type).toBe("json_schema");
    expect(server.planRequests()[0]!.prompt).toContain("at most 8 sections");
  });

  test("each worker request carries its own section and none of the others", async () => {
    const plan = defaultPlan(4);
    server = await startOpenAIServer({ plan });
    await graphFor(server).invoke({ topic: "Tides" });
    const requests = server.sectionRequests();
    expect(requests.map((request) => request.sectionName).sort()).toEqual(
      plan.map((section) => section.name),
    );
    for (const request of requests) {
      for (const section of plan) {
        const own = section.name === request.sectionName;
        expect(request.prompt.includes(section.description)).toBe(own);
      }
    }
  });

  test("models without JSON-schema support plan through a forced tool call", async () => {
    server = await startOpenAIServer({ plan: defaultPlan(2) });
    const result = await graphFor(server).invoke(
      { topic: "Tides" },
      { configurable: { plannerModel: "gpt-4", writerModel: "gpt-4" } },
    );
    const [planRequest] = server.planRequests();
    expect(planRequest!.body.tool_choice).toEqual({ type: "function", function: { name: "plan" } });
    expect(planRequest!.body.model).toBe("gpt-4");
    expect(headings(result.report)).toEqual(["Part 1", "Part 2"]);
  });

  test("a ready-made plan makes no plan call", async () => {
    server = await startOpenAIServer();
    const result = await graphFor(server).invoke({
      topic: "Tides",
      sections: [
        { name: "One", description: "First." },
        { name: "Two", description: "Second." },
      ],
    });
    expect(server.planRequests()).toHaveLength(0);
    expect(server.sectionRequests()).toHaveLength(2);
    expect(headings(result.report)).toEqual(["One", "Two"]);
  });

  test("bad input is refused before any request reaches the server", async () => {
    server = await startOpenAIServer({ plan: defaultPlan(2) });
    const error: unknown = await graphFor(server)
      .invoke({ topic: "" })
      .catch((caught: unknown) => caught);
    expect(InvalidInputError.isInstance(error)).toBe(true);
    expect(server.requests).toHaveLength(0);
  });

  test("a malformed plan from the server is a clear error and no worker runs", async () => {
    server = await startOpenAIServer({ planText: '{"sections": [{"name": "A"' });
    await expect(
      graphFor(server).invoke({ topic: "Tides" }, { configurable: { maxRetries: 0 } }),
    ).rejects.toThrow(/not a valid plan/);
    expect(server.sectionRequests()).toHaveLength(0);
  });

  test("section text streams token by token in messages mode, each chunk naming its section", async () => {
    server = await startOpenAIServer({ plan: defaultPlan(2) });
    const tokens = new Map<string, string[]>();
    for await (const [chunk, metadata] of await graphFor(server).stream(
      { topic: "Tides" },
      { streamMode: "messages" },
    )) {
      if (metadata.langgraph_node !== "worker") continue;
      // Every token names its section: the worker passes section_id / section_name as metadata.
      const key = `${String(metadata.section_id)} ${String(metadata.section_name)}`;
      tokens.set(key, [...(tokens.get(key) ?? []), chunk.text]);
    }
    expect(server.sectionRequests().every((request) => request.body.stream === true)).toBe(true);
    expect(Object.fromEntries([...tokens].map(([key, pieces]) => [key, pieces.join("")]))).toEqual({
      "s1 Part 1": 'Text of section "Part 1".\n\nMore about Part 1.',
      "s2 Part 2": 'Text of section "Part 2".\n\nMore about Part 2.',
    });
    expect([...tokens.values()].every((pieces) => pieces.length > 3)).toBe(true);
  });

  test("the API key reaches the server and never the state or the report", async () => {
    server = await startOpenAIServer({ plan: defaultPlan(2) });
    const result = await graphFor(server).invoke({ topic: "Tides" });
    expect(server.requests[0]!.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(JSON.stringify(result)).not.toContain(API_KEY);
  });

  test("a section the server keeps failing is recorded after the client's retries; the others complete", async () => {
    server = await startOpenAIServer({
      plan: defaultPlan(3),
      respond: (request) =>
        request.sectionName === "Part 2"
          ? { status: 500, body: { error: { message: "upstream exploded" } } }
          : undefined,
    });
    const result = await graphFor(server).invoke(
      { topic: "Tides" },
      { configurable: { maxRetries: 1 } },
    );
    // One attempt plus one retry, from the client; the graph adds none of its own.
    expect(
      server.sectionRequests().filter((request) => request.sectionName === "Part 2"),
    ).toHaveLength(2);
    expect(result.completedSections.map((section) => section.id).sort()).toEqual(["s1", "s3"]);
    expect(result.failedSections).toHaveLength(1);
    expect(result.failedSections[0]!.error).toMatch(/upstream exploded/);
    expect(headings(result.report)).toEqual(["Part 1", "Part 2", "Part 3"]);
  });

  test("tool-using workers: one search and one writing request per section, citations match what the tool returned", async () => {
    const directory = await mkdtemp(join(tmpdir(), "sources-"));
    await writeFile(join(directory, "part-1.md"), "# Part 1\n\nFacts about Part 1.\n");
    await writeFile(join(directory, "part-2.md"), "# Part 2\n\nFacts about Part 2.\n");
    server = await startOpenAIServer({ plan: defaultPlan(2) });
    const graph = buildGraph({
      environment: { openaiApiKey: API_KEY, openaiBaseUrl: server.baseURL, workingDirectory: "." },
      tools: [await createSourcesTool({ directory })],
    });
    const result = await graph.invoke({ topic: "Tides" });

    for (const name of ["Part 1", "Part 2"]) {
      const requests = server.sectionRequests().filter((request) => request.sectionName === name);
      expect(requests).toHaveLength(2);
      expect(requests[0]!.tools).toEqual(["search_sources"]);
      expect(requests[1]!.toolResults).toHaveLength(1);
    }
    const cited = result.completedSections
      .flatMap((section) => section.sources ?? [])
      .map((source) => source.key);
    const returned = server
      .sectionRequests()
      .flatMap((request) => request.toolResults)
      .flatMap((text) =>
        (JSON.parse(text) as { results: { key: string }[] }).results.map((item) => item.key),
      );
    expect(new Set(cited)).toEqual(new Set(returned));
    const references = result.report
      .split("## References\n\n")[1]!
      .split("\n\n")[0]!
      .trim()
      .split("\n");
    expect(references.map((line) => line.replace(/^\d+\. /, "")).sort()).toEqual(
      [...new Set(returned)].map((key) => key.replace(/:(\d+-\d+)$/, ", lines $1")).sort(),
    );
  });

  test("the step limit holds with the real client: a model that always wants more tool calls makes maxWorkerSteps requests, the last without tools", async () => {
    const directory = await mkdtemp(join(tmpdir(), "sources-"));
    await writeFile(join(directory, "notes.md"), "# Notes\n\nPart 1 and Part 2 facts.\n");
    server = await startOpenAIServer({
      plan: defaultPlan(2),
      respond: (request) =>
        request.kind === "section" && request.tools.length > 0
          ? { toolCall: { name: "search_sources", arguments: JSON.stringify({ query: "more" }) } }
          : undefined,
    });
    const graph = buildGraph({
      environment: { openaiApiKey: API_KEY, openaiBaseUrl: server.baseURL, workingDirectory: "." },
      tools: [await createSourcesTool({ directory })],
    });
    const result = await graph.invoke({ topic: "Tides" }, { configurable: { maxWorkerSteps: 3 } });
    for (const name of ["Part 1", "Part 2"]) {
      const requests = server.sectionRequests().filter((request) => request.sectionName === name);
      expect(requests.map((request) => request.tools.length > 0)).toEqual([true, true, false]);
    }
    expect(
      result.completedSections.every((section) => section.hitStepLimit && section.steps === 3),
    ).toBe(true);
  });

  test("roles: the plan's JSON schema limits roles to the roster, and each writer request carries its role's background", async () => {
    const roster = [
      { name: "quantum specialist", background: "Knows quantum mechanics in depth." },
      { name: "relativity specialist", background: "Knows special and general relativity." },
    ];
    server = await startOpenAIServer({
      plan: [
        { name: "Entanglement", description: "Spooky.", role: "quantum specialist" },
        { name: "Time dilation", description: "Clocks.", role: "relativity specialist" },
      ] as never,
    });
    await graphFor(server).invoke({ topic: "Physics" }, { configurable: { roles: roster } });
    const schema = JSON.stringify(server.planRequests()[0]!.body.response_format);
    expect(schema).toContain('"enum":["quantum specialist","relativity specialist"]');
    for (const [name, role] of [
      ["Entanglement", "quantum specialist"],
      ["Time dilation", "relativity specialist"],
    ] as const) {
      const request = server.sectionRequests().find((candidate) => candidate.sectionName === name)!;
      expect(String(request.body.messages[0]!.content)).toContain(
        `You write as the team's ${role}.`,
      );
    }
  });

  test("the usage ledger's totals equal the usage the server reported, per section and for the run, priced", async () => {
    server = await startOpenAIServer({ plan: defaultPlan(3) });
    const result = await graphFor(server).invoke({ topic: "Tides" });
    const sum = (requests: RecordedRequest[]) => ({
      input: requests.reduce((total, request) => total + request.usage!.prompt_tokens, 0),
      output: requests.reduce((total, request) => total + request.usage!.completion_tokens, 0),
      total: requests.reduce((total, request) => total + request.usage!.total_tokens, 0),
    });
    const usage = result.usage!;
    expect(usage.total).toEqual(sum(server.requests));
    expect(usage.planner).toEqual(sum(server.planRequests()));
    for (const section of result.plan!.sections) {
      expect(usage.sections[section.id]).toEqual(
        sum(server.sectionRequests().filter((request) => request.sectionName === section.name)),
      );
    }
    // gpt-4.1-mini's default price: $0.40 in, $1.60 out per million tokens.
    expect(usage.estimatedCostUsd).toBeCloseTo(
      (usage.total.input * 0.4 + usage.total.output * 1.6) / 1e6,
      12,
    );
    expect(result.report).toContain(`_Tokens: ${usage.total.input.toLocaleString("en-US")} in, `);
  });

  test("an unpriced model leaves the cost unknown and says which model", async () => {
    server = await startOpenAIServer({ plan: defaultPlan(1) });
    const result = await graphFor(server).invoke(
      { topic: "Tides" },
      { configurable: { plannerModel: "my-local-model", writerModel: "my-local-model" } },
    );
    expect(result.usage!.estimatedCostUsd).toBeNull();
    expect(result.usage!.unpricedModels).toEqual(["my-local-model"]);
    expect(result.report).toContain("estimated cost unknown (no price for my-local-model)");
  });

  test("dependencies with the real client: the dependent request comes after, and carries, its dependencies' text", async () => {
    server = await startOpenAIServer({
      plan: [
        { name: "Moon", description: "m", dependsOn: [] },
        { name: "Summary", description: "s", dependsOn: ["s1"] },
      ] as never,
    });
    const result = await graphFor(server).invoke({ topic: "Tides" });
    const names = server.sectionRequests().map((request) => request.sectionName);
    expect(names).toEqual(["Moon", "Summary"]);
    expect(server.sectionRequests()[1]!.prompt).toContain('## Moon\n\nText of section "Moon".');
    expect(headings(result.report)).toEqual(["Moon", "Summary"]);
    expect(JSON.stringify(server.planRequests()[0]!.body.response_format)).toContain('"dependsOn"');
  });

  test("synthesis llm with the real client: one aggregator request over the written sections, its usage in the ledger", async () => {
    server = await startOpenAIServer({ plan: defaultPlan(2) });
    const result = await graphFor(server).invoke(
      { topic: "Tides" },
      { configurable: { synthesis: "llm", aggregatorModel: "gpt-4.1" } },
    );
    const [aggregator, ...others] = server.requests.filter(
      (request) => request.kind === "synthesis",
    );
    expect(others).toEqual([]);
    expect(aggregator!.body.model).toBe("gpt-4.1");
    expect(aggregator!.prompt).toContain('Text of section "Part 2".');
    expect(result.report).toMatch(/^# Tides\n\nServer introduction\.\n\n## Part 1/);
    expect(result.report).toContain("## Conclusion\n\nServer conclusion.");
    expect(result.usage!.aggregator!.total).toBe(aggregator!.usage!.total_tokens);
  });

  test("a second planning round with the real client: the planner sees the written sections and adds one", async () => {
    let plans = 0;
    server = await startOpenAIServer({
      plan: defaultPlan(2),
      respond: (request) =>
        request.kind === "plan" && ++plans === 2
          ? {
              content: JSON.stringify({
                sections: [{ name: "Follow-up", description: "More.", dependsOn: [] }],
              }),
            }
          : undefined,
    });
    const result = await graphFor(server).invoke(
      { topic: "Tides" },
      { configurable: { maxPlanningRounds: 2 } },
    );
    expect(server.planRequests()).toHaveLength(2);
    expect(server.planRequests()[1]!.prompt).toContain('s2. Part 2: Text of section "Part 2".');
    expect(headings(result.report)).toEqual(["Part 1", "Part 2", "Follow-up"]);
    expect(result.usage!.planner.total).toBe(
      server.planRequests().reduce((total, request) => total + request.usage!.total_tokens, 0),
    );
  });

  test("an unusable answer in a later planning round keeps the plan with a warning and never fails the run", async () => {
    let plans = 0;
    server = await startOpenAIServer({
      plan: defaultPlan(2),
      respond: (request) =>
        request.kind === "plan" && ++plans === 2
          ? { content: '{"sections": [{"name": "cut off' }
          : undefined,
    });
    const result = await graphFor(server).invoke(
      { topic: "Tides" },
      { configurable: { maxPlanningRounds: 2 } },
    );
    expect(headings(result.report)).toEqual(["Part 1", "Part 2"]);
    expect(result.warnings).toContain(
      "Planning round 2 proposed sections that could not be used; the plan was kept as it was.",
    );
    expect(server.planRequests()).toHaveLength(2);
  });

  test("a user-supplied ChatOpenAI instance is used as given", async () => {
    server = await startOpenAIServer({ plan: defaultPlan(3) });
    const model = new ChatOpenAI({
      model: "my-local-model",
      apiKey: "unused",
      maxRetries: 0,
      configuration: { baseURL: server.baseURL },
    });
    const result = await buildGraph({ model }).invoke({ topic: "Tides" });
    expect(server.requests.every((request) => request.body.model === "my-local-model")).toBe(true);
    expect(result.completedSections.every((section) => section.model === "my-local-model")).toBe(
      true,
    );
  });
});
