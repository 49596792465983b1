/**
 * Issue 12's faults that come from the servers a run talks to: a key echoed in an error body, a
 * response body that never arrives, a runaway answer; and the listener warning on ordinary runs.
 */
import { mkdtemp, readFile, readdir, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildGraph } from "../../src/graph/graph.js";
import { defaultPlan, startOpenAIServer, type OpenAIServer } from "../../src/testing/index.js";
import { startLangSmithReceiver, type LangSmithReceiver } from "../helpers/langsmith-receiver.js";
import { headings } from "../helpers/report.js";
import { runCli } from "../helpers/run-cli.js";

const OPENAI_KEY = "sk-echoed-SECRET-0123456789";
const LANGSMITH_KEY = "lsv2-echoed-LANGSMITH-SECRET-987";

describe("secrets, time limits and sizes", () => {
  let directory: string;
  let server: OpenAIServer | undefined;
  let receiver: LangSmithReceiver | undefined;

  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), "secrets-limits-"));
  });
  afterEach(async () => {
    await server?.close();
    await receiver?.close();
    server = undefined;
    receiver = undefined;
  });

  /** Every file the run left in the working directory, as text. */
  async function filesUnder(root: string): Promise<string[]> {
    const entries = await readdir(root, { recursive: true, withFileTypes: true });
    return Promise.all(
      entries
        .filter((entry) => entry.isFile())
        .map((entry) => readFile(join(entry.parentPath, entry.name), "latin1")),
    );
  }

  test("a server that echoes the Authorization header: the key reaches no file, no state and no terminal", async () => {
    server = await startOpenAIServer({
      plan: defaultPlan(3),
      respond: (request) =>
        request.sectionName === "Part 2"
          ? {
              status: 400,
              body: {
                error: {
                  message: `Invalid request (headers: authorization=${String(request.headers.authorization)})`,
                },
              },
            }
          : undefined,
    });
    const out = join(directory, "report.md");
    const result = await runCli(["How tides work", "--out", out, "--thread", "echo"], {
      env: { OPENAI_BASE_URL: server.baseURL, OPENAI_API_KEY: OPENAI_KEY },
      directory,
    });
    expect(result.code).toBe(1);
    // The key really was echoed, and what the user reads says where it was.
    expect(result.stderr).toMatch(/authorization=Bearer \[redacted\]/);
    const report = await readFile(out, "utf8");
    expect(report).toMatch(/_This section is missing: writing it failed \(.*\[redacted\]/);
    for (const text of [result.stdout, result.stderr, ...(await filesUnder(directory))]) {
      expect(text).not.toContain(OPENAI_KEY);
    }
  });

  test("a LangSmith endpoint that echoes x-api-key in a 500: the key never reaches stderr", async () => {
    server = await startOpenAIServer({ plan: defaultPlan(2) });
    receiver = await startLangSmithReceiver({
      fail: (request) => ({
        status: 500,
        body: JSON.stringify({
          detail: `internal error for key ${String(request.headers["x-api-key"])}`,
        }),
      }),
    });
    const result = await runCli(["How tides work", "--out", join(directory, "r.md")], {
      env: {
        OPENAI_BASE_URL: server.baseURL,
        LANGSMITH_TRACING: "true",
        LANGSMITH_ENDPOINT: receiver.endpoint,
        LANGSMITH_API_KEY: LANGSMITH_KEY,
      },
      directory,
    });
    expect(result.code).toBe(0);
    // The endpoint was reached and failed, and the client said so.
    expect(receiver.requests().some((line) => line.startsWith("POST /runs"))).toBe(true);
    expect(result.stdout + result.stderr).not.toContain(LANGSMITH_KEY);
  }, 60_000);

  test("a response whose headers arrive but whose body never does is cut off by requestTimeoutMs", async () => {
    server = await startOpenAIServer({
      plan: defaultPlan(2),
      respond: (request) =>
        request.sectionName === "Part 1" ? { fault: "stall-body" } : undefined,
    });
    const graph = buildGraph({
      environment: {
        openaiBaseUrl: server.baseURL,
        openaiApiKey: "sk-test",
        workingDirectory: ".",
      },
    });
    const started = Date.now();
    const result = await graph.invoke(
      { topic: "Tides" },
      { configurable: { requestTimeoutMs: 1000, maxRetries: 0 } },
    );
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(result.failedSections.map((section) => section.id)).toEqual(["s1"]);
    expect(result.failedSections[0]!.error).toMatch(/time|abort/i);
    expect(result.completedSections.map((section) => section.id)).toEqual(["s2"]);
  });

  test("a 5 MB answer is cut with a warning: the report and the store stay small", async () => {
    server = await startOpenAIServer({
      plan: defaultPlan(2),
      respond: (request) =>
        request.sectionName === "Part 1" ? { content: "tide ".repeat(1_000_000) } : undefined,
    });
    const out = join(directory, "report.md");
    const result = await runCli(["How tides work", "--out", out], {
      env: { OPENAI_BASE_URL: server.baseURL },
      directory,
    });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(
      /warning: Section s1 \("Part 1"\) came back with [\d,]+ characters; it was cut to 100,000/,
    );
    expect((await stat(out)).size).toBeLessThan(200_000);
    expect(headings(await readFile(out, "utf8"))).toEqual(["Part 1", "Part 2"]);
    const database = join(directory, ".orchestrator-workers", "checkpoints.sqlite");
    expect((await stat(database)).size).toBeLessThan(5_000_000);
  });

  test("an ordinary run with many sections prints no MaxListenersExceededWarning", async () => {
    server = await startOpenAIServer({ plan: defaultPlan(14), latencyMs: 20 });
    const result = await runCli(
      ["How tides work", "--out", join(directory, "r.md"), "--max-sections", "14"],
      { env: { OPENAI_BASE_URL: server.baseURL }, directory },
    );
    expect(result.code).toBe(0);
    expect(server.maxInFlight()).toBeGreaterThan(1);
    expect(result.stderr).not.toMatch(/MaxListenersExceededWarning/);
  });

  test("the advice after failed sections works as printed, and retries only those", async () => {
    let failing = true;
    server = await startOpenAIServer({
      plan: defaultPlan(3),
      respond: (request) =>
        failing && request.sectionName === "Part 2"
          ? { status: 400, body: { error: { message: "bad luck" } } }
          : undefined,
    });
    const env = { OPENAI_BASE_URL: server.baseURL };
    const first = await runCli(["How tides work", "--out", "tides.md"], { env, directory });
    expect(first.code).toBe(1);
    const advice = /Run again with (--thread \S+ --out \S+ --force) to retry only those/.exec(
      first.stderr,
    );
    expect(advice).not.toBeNull();
    failing = false;
    const before = server.sectionRequests().length;
    const again = await runCli(["How tides work", ...advice![1]!.split(" ")], { env, directory });
    expect(again.code).toBe(0);
    expect(
      server
        .sectionRequests()
        .slice(before)
        .map((request) => request.sectionName),
    ).toEqual(["Part 2"]);
    expect(headings(await readFile(join(directory, "tides.md"), "utf8"))).toEqual([
      "Part 1",
      "Part 2",
      "Part 3",
    ]);
  });

  test("tokens spent on a section that failed are in the ledger", async () => {
    server = await startOpenAIServer({
      plan: defaultPlan(2),
      // Part 2 is answered, then its text is unusable (empty): the call was paid.
      respond: (request) => (request.sectionName === "Part 2" ? { content: "" } : undefined),
    });
    const graph = buildGraph({
      environment: {
        openaiBaseUrl: server.baseURL,
        openaiApiKey: "sk-test",
        workingDirectory: ".",
      },
    });
    const result = await graph.invoke({ topic: "Tides" });
    expect(result.failedSections.map((section) => section.id)).toEqual(["s2"]);
    const paid = server.requests.reduce((total, request) => total + request.usage!.total_tokens, 0);
    expect(result.usage!.total.total).toBe(paid);
    expect(result.usage!.sections.s2!.total).toBeGreaterThan(0);
  });
});
