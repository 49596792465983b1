import { ChatOpenAI } from "@langchain/openai";
import { buildGraph } from "../../src/graph/graph.js";
import type { ConfigurationInput } from "../../src/schemas/configuration.js";
import { headings } from "../helpers/report.js";
import { startOpenAIServer, type OpenAIServer } from "../../src/testing/index.js";
import { defaultPlan } from "../../src/testing/index.js";

/**
 * The adaptive client concurrency end to end: the real ChatOpenAI client, built by the package's
 * model provider, against the local server's concurrency and per-minute limits.
 */
describe("rate limits: the real ChatOpenAI client adapts to the provider", () => {
  let server: OpenAIServer;
  afterEach(async () => server?.close());

  async function run(configurable: ConfigurationInput) {
    const graph = buildGraph({
      environment: {
        openaiApiKey: "sk-test",
        openaiBaseUrl: server.baseURL,
        workingDirectory: ".",
      },
    });
    return graph.invoke({ topic: "Tides" }, { configurable });
  }

  test("a provider that allows 10 at once and maxConcurrency 50: every section written once, the first burst's refusals and few after, never over 50 in flight", async () => {
    const plan = defaultPlan(60);
    server = await startOpenAIServer({
      plan,
      concurrencyLimit: 10,
      latencyMs: (request) => (request.kind === "plan" ? 0 : 60),
    });
    const result = await run({ maxConcurrency: 50, maxSections: 60, maxRetries: 3 });
    expect(result.failedSections).toEqual([]);
    expect(headings(result.report)).toEqual(plan.map((section) => section.name));
    // Accepted requests: one per section (a refused one is not answered, so not recorded).
    expect(server.sectionRequests()).toHaveLength(60);
    expect(server.maxInFlight()).toBeLessThanOrEqual(50);
    // 50 go out at once, as asked: up to 40 of the first burst are refused (fewer when a busy
    // machine spreads their arrival), then the limit is what the provider took (10), with a probe
    // or two above it; a client that kept sending 50 would be refused 40 a round.
    expect(server.rejected()).toBeGreaterThan(0);
    expect(server.rejected()).toBeLessThanOrEqual(50);
  }, 30_000);

  test("a provider with no limits gets maxConcurrency requests at once from the first round trip", async () => {
    const plan = defaultPlan(40);
    server = await startOpenAIServer({
      plan,
      // Long enough that all 40 are sent before the first answers, on a busy machine too; the
      // old ramp (10, then doubling per round trip or second) had at most 20 in flight here.
      latencyMs: (request) => (request.kind === "plan" ? 0 : 1000),
    });
    const result = await run({ maxConcurrency: 40, maxSections: 40 });
    expect(result.failedSections).toEqual([]);
    expect(server.sectionRequests()).toHaveLength(40);
    // No ramp from 10: all 40 sections are in flight together.
    expect(server.maxInFlight()).toBe(40);
    expect(server.rejected()).toBe(0);
  }, 30_000);

  test("a tokens-per-minute limit: requests wait for the window instead of failing, and few are refused", async () => {
    const plan = defaultPlan(40);
    // A section request is about 300 tokens here: the window takes about 8 of them.
    server = await startOpenAIServer({
      plan,
      tokensPerMinute: 2600,
      rateLimitWindowMs: 1000,
    });
    const result = await run({ maxConcurrency: 40, maxSections: 40, maxRetries: 4 });
    expect(result.failedSections).toEqual([]);
    expect(server.sectionRequests()).toHaveLength(40);
    // The windows were used: answers spread over at least three of them.
    const times = server.sectionRequests().map((request) => request.receivedAt);
    expect(Math.max(...times) - Math.min(...times)).toBeGreaterThanOrEqual(1000);
    expect(server.rateLimited()).toBeLessThanOrEqual(12);
  }, 30_000);

  test("the client reads x-ratelimit-remaining-requests: a requests-per-minute budget is waited for, not refused", async () => {
    server = await startOpenAIServer({
      plan: defaultPlan(12),
      requestsPerMinute: 4,
      rateLimitWindowMs: 800,
      latencyMs: 20,
    });
    const result = await run({ maxConcurrency: 12, maxSections: 12, maxRetries: 4 });
    expect(result.failedSections).toEqual([]);
    expect(server.sectionRequests()).toHaveLength(12);
    // With two in flight at a time the budget is read before it runs out; only the first
    // window, before any answer said what was left, can be overrun.
    expect(server.rateLimited()).toBeLessThanOrEqual(2);
  }, 30_000);

  test("waiting in the limiter's line does not count toward requestTimeoutMs", async () => {
    server = await startOpenAIServer({
      plan: defaultPlan(8),
      concurrencyLimit: 1,
      latencyMs: (request) => (request.kind === "plan" ? 0 : 300),
    });
    // One at a time, 300 ms each: the last section waits about 2 s, twice the time limit.
    const result = await run({
      maxConcurrency: 8,
      maxSections: 8,
      requestTimeoutMs: 1000,
      maxRetries: 6,
    });
    expect(result.failedSections).toEqual([]);
    expect(server.sectionRequests()).toHaveLength(8);
  }, 30_000);

  test("a 429 the limiter sent again maxRetries times is not retried again by the client", async () => {
    server = await startOpenAIServer({
      plan: defaultPlan(2),
      respond: (request) =>
        request.sectionName === "Part 2"
          ? { status: 429, body: { error: { message: "Too many requests", type: "requests" } } }
          : undefined,
    });
    const result = await run({ maxRetries: 2, maxSections: 2 });
    expect(result.failedSections.map((section) => section.id)).toEqual(["s2"]);
    const part2 = server.sectionRequests().filter((request) => request.sectionName === "Part 2");
    expect(part2).toHaveLength(3);
  }, 30_000);

  test("a spent quota (insufficient_quota) is not sent again", async () => {
    server = await startOpenAIServer({
      plan: defaultPlan(2),
      respond: (request) =>
        request.sectionName === "Part 1"
          ? {
              status: 429,
              headers: { "retry-after": "1" },
              body: {
                error: {
                  message: "You exceeded your current quota",
                  type: "insufficient_quota",
                  code: "insufficient_quota",
                },
              },
            }
          : undefined,
    });
    const result = await run({ maxRetries: 3, maxSections: 2 });
    expect(result.failedSections.map((section) => section.id)).toEqual(["s1"]);
    expect(
      server.sectionRequests().filter((request) => request.sectionName === "Part 1"),
    ).toHaveLength(1);
  }, 30_000);

  test("the server's headers: x-ratelimit-* on every answer, retry-after on a refusal", async () => {
    server = await startOpenAIServer({
      plan: defaultPlan(1),
      tokensPerMinute: 1000,
      requestsPerMinute: 1,
      rateLimitWindowMs: 60_000,
    });
    const send = () =>
      fetch(`${server.baseURL}/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "hi" }] }),
      });
    const first = await send();
    expect(first.status).toBe(200);
    expect(first.headers.get("x-ratelimit-remaining-requests")).toBe("0");
    expect(Number(first.headers.get("x-ratelimit-remaining-tokens"))).toBeLessThan(1000);
    expect(first.headers.get("x-ratelimit-reset-tokens")).toMatch(/^\d+(\.\d+)?m?s$/);
    const second = await send();
    expect(second.status).toBe(429);
    expect(Number(second.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(Number(second.headers.get("retry-after-ms"))).toBeGreaterThan(0);
    expect(server.rateLimited()).toBe(1);
    // ChatOpenAI with no limiter of ours and no retries: the refusal reaches the caller.
    const plain = new ChatOpenAI({
      model: "m",
      apiKey: "sk-test",
      maxRetries: 0,
      configuration: { baseURL: server.baseURL },
    });
    await expect(plain.invoke("hi")).rejects.toThrow(/429/);
  });
});
