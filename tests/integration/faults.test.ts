import { buildGraph } from "../../src/graph/graph.js";
import { headings } from "../helpers/report.js";
import { PlanError } from "../../src/errors.js";
import type { ConfigurationInput } from "../../src/schemas/configuration.js";
import {
  startOpenAIServer,
  type OpenAIServer,
  type OpenAIServerOptions,
  type RecordedRequest,
} from "../../src/testing/index.js";
import { defaultPlan } from "../../src/testing/index.js";

/** How many requests each section received. */
function requestsPerSection(server: OpenAIServer): Map<string, number> {
  const counts = new Map<string, number>();
  for (const request of server.sectionRequests()) {
    counts.set(request.sectionName!, (counts.get(request.sectionName!) ?? 0) + 1);
  }
  return counts;
}

/** Fails the first `times` requests of each section that `select` picks with `reply`. */
function failFirst(
  times: number,
  select: (request: RecordedRequest) => boolean,
  reply: ReturnType<NonNullable<OpenAIServerOptions["respond"]>>,
): OpenAIServerOptions["respond"] {
  const seen = new Map<string, number>();
  return (request) => {
    if (request.kind !== "section" || !select(request)) return undefined;
    const count = (seen.get(request.sectionName!) ?? 0) + 1;
    seen.set(request.sectionName!, count);
    return count <= times ? reply : undefined;
  };
}

describe("fault injection: the real ChatOpenAI client against a faulty local server", () => {
  let server: OpenAIServer;
  afterEach(async () => server?.close());

  async function run(configurable: ConfigurationInput = {}, topic = "Tides") {
    const graph = buildGraph({
      environment: {
        openaiApiKey: "sk-test",
        openaiBaseUrl: server.baseURL,
        workingDirectory: ".",
      },
    });
    return graph.invoke({ topic }, { configurable });
  }

  test("a 429 burst is retried after the server's Retry-After, and every section completes once", async () => {
    const plan = defaultPlan(4);
    server = await startOpenAIServer({
      plan,
      respond: failFirst(1, (request) => request.sectionName !== "Part 4", {
        status: 429,
        headers: { "retry-after": "3" },
        body: { error: { message: "Rate limit reached", type: "requests" } },
      }),
    });
    const result = await run();
    expect(headings(result.report)).toEqual(plan.map((section) => section.name));
    expect(result.failedSections).toEqual([]);
    const counts = requestsPerSection(server);
    expect(counts.get("Part 1")).toBe(2);
    expect(counts.get("Part 4")).toBe(1);
    // The retry came no sooner than the Retry-After the server asked for.
    const times = server
      .sectionRequests()
      .filter((request) => request.sectionName === "Part 1")
      .map((request) => request.receivedAt);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(2900);
  }, 20_000);

  test("a 429 without Retry-After is retried with backoff too", async () => {
    server = await startOpenAIServer({
      plan: defaultPlan(2),
      respond: failFirst(2, (request) => request.sectionName === "Part 1", {
        status: 429,
        body: { error: { message: "Rate limit reached", type: "requests" } },
      }),
    });
    const result = await run();
    expect(result.failedSections).toEqual([]);
    expect(requestsPerSection(server).get("Part 1")).toBe(3);
  }, 30_000);

  test("intermittent 500s are retried; the report is complete and in plan order", async () => {
    const plan = defaultPlan(6);
    server = await startOpenAIServer({
      plan,
      respond: failFirst(1, (request) => Number(request.sectionName!.split(" ")[1]) % 2 === 0, {
        status: 500,
        body: { error: { message: "internal error" } },
      }),
    });
    const result = await run();
    expect(headings(result.report)).toEqual(plan.map((section) => section.name));
    expect(result.completedSections).toHaveLength(6);
    const counts = requestsPerSection(server);
    expect([...counts.entries()].sort()).toEqual([
      ["Part 1", 1],
      ["Part 2", 2],
      ["Part 3", 1],
      ["Part 4", 2],
      ["Part 5", 1],
      ["Part 6", 2],
    ]);
  }, 20_000);

  test("a reset connection is retried", async () => {
    server = await startOpenAIServer({
      plan: defaultPlan(3),
      respond: failFirst(1, (request) => request.sectionName === "Part 2", { fault: "reset" }),
    });
    const result = await run();
    expect(result.failedSections).toEqual([]);
    expect(requestsPerSection(server).get("Part 2")).toBe(2);
    expect(headings(result.report)).toEqual(["Part 1", "Part 2", "Part 3"]);
  }, 20_000);

  test("a hung response times out and is retried", async () => {
    server = await startOpenAIServer({
      plan: defaultPlan(2),
      respond: failFirst(1, (request) => request.sectionName === "Part 1", { fault: "hang" }),
    });
    const result = await run({ requestTimeoutMs: 1000 });
    expect(result.failedSections).toEqual([]);
    expect(requestsPerSection(server).get("Part 1")).toBe(2);
  }, 20_000);

  test("retries are bounded: a section that keeps failing is recorded after maxRetries + 1 requests", async () => {
    server = await startOpenAIServer({
      plan: defaultPlan(2),
      respond: (request) =>
        request.sectionName === "Part 2"
          ? { status: 503, body: { error: { message: "down" } } }
          : undefined,
    });
    const result = await run({ maxRetries: 2 });
    expect(requestsPerSection(server).get("Part 2")).toBe(3);
    expect(result.failedSections.map((section) => section.id)).toEqual(["s2"]);
    expect(result.report).toMatch(/## Part 2\n\n_This section is missing: writing it failed/);
  }, 30_000);

  test("a malformed plan is re-asked maxPlanAttempts times in all (not multiplied by the client's retries), then a clear error", async () => {
    server = await startOpenAIServer({ planText: '{"sections": [{"name": "A"' });
    const error: unknown = await run({ maxPlanAttempts: 3, maxRetries: 2 }).catch(
      (caught: unknown) => caught,
    );
    expect(PlanError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(
      /^No usable plan after 3 attempts: the planner's answer is not a valid plan/,
    );
    expect(server.planRequests()).toHaveLength(3);
    expect(server.sectionRequests()).toHaveLength(0);
  });

  test("a plan that is malformed once and valid the second time is used", async () => {
    let planCalls = 0;
    server = await startOpenAIServer({
      plan: defaultPlan(2),
      respond: (request) =>
        request.kind === "plan" && ++planCalls === 1
          ? { content: '{"sections": "not a list"}' }
          : undefined,
    });
    const result = await run();
    expect(server.planRequests()).toHaveLength(2);
    expect(headings(result.report)).toEqual(["Part 1", "Part 2"]);
    // The rejected attempt was paid for too, and the ledger says so.
    expect(result.usage!.planner.total).toBe(
      server.planRequests().reduce((total, request) => total + request.usage!.total_tokens, 0),
    );
  });

  test("a 1000-section plan completes in plan order, one request per section, at most maxConcurrency in flight", async () => {
    const plan = defaultPlan(1000);
    server = await startOpenAIServer({
      plan,
      latencyMs: (request) => (request.kind === "plan" ? 0 : 2),
    });
    const result = await run({ maxSections: 1000 });
    expect(server.sectionRequests()).toHaveLength(1000);
    expect(new Set(server.sectionRequests().map((request) => request.sectionName)).size).toBe(1000);
    expect(headings(result.report)).toEqual(plan.map((section) => section.name));
    expect(server.maxInFlight()).toBeLessThanOrEqual(10);
  }, 60_000);

  test("a provider that allows 4 concurrent requests: maxConcurrency 4 means no 429 and no failed section", async () => {
    server = await startOpenAIServer({
      plan: defaultPlan(40),
      concurrencyLimit: 4,
      latencyMs: (request) => (request.kind === "plan" ? 0 : 20),
    });
    const result = await run({ maxConcurrency: 4, maxSections: 40 });
    expect(server.rejected()).toBe(0);
    expect(result.failedSections).toEqual([]);
    expect(result.completedSections).toHaveLength(40);
    expect(server.maxInFlight()).toBe(4);
  }, 30_000);
});
