import { MemorySaver } from "@langchain/langgraph";
import { buildGraph } from "../../src/graph/graph.js";
import { startOpenAIServer, type OpenAIServer } from "../../src/testing/index.js";
import { defaultPlan } from "../../src/testing/index.js";
import { headings } from "../helpers/report.js";

describe("token budget (maxTotalTokens)", () => {
  let server: OpenAIServer;
  afterEach(async () => server?.close());

  test("stops starting sections once spent, finishes the running wave, says so, and a re-run of the thread writes the rest", async () => {
    server = await startOpenAIServer({ plan: defaultPlan(10) });
    const environment = {
      openaiApiKey: "sk-test",
      openaiBaseUrl: server.baseURL,
      workingDirectory: ".",
    };
    // The server's usage is deterministic: learn what planning costs, then allow one token more.
    const probe = await buildGraph({ environment }).invoke(
      { topic: "Tides" },
      { configurable: { maxSections: 10 } },
    );
    const planningTokens = probe.usage!.planner.total;
    const before = server.sectionRequests().length;

    const graph = buildGraph({ environment, checkpointer: new MemorySaver() });
    const config = { configurable: { thread_id: "budget", maxSections: 10, maxConcurrency: 2 } };
    const limited = await graph.invoke(
      { topic: "Tides" },
      { ...config, configurable: { ...config.configurable, maxTotalTokens: planningTokens + 1 } },
    );

    // The first wave (2 sections) ran; nothing was started after the budget was spent.
    expect(server.sectionRequests().length - before).toBe(2);
    expect(limited.completedSections).toHaveLength(2);
    expect(limited.failedSections).toEqual([]);
    expect(limited.warnings.join("\n")).toMatch(
      /token budget \(maxTotalTokens \d+\) was reached after \d+ tokens: 8 sections were not started/,
    );
    expect(headings(limited.report)).toEqual(defaultPlan(10).map((section) => section.name));
    expect(
      limited.report.match(/the run's token budget \(maxTotalTokens\) was spent/g),
    ).toHaveLength(8);
    expect(limited.usage!.total.total).toBeGreaterThan(planningTokens);

    // A re-run of the thread without the budget writes only the 8 missing sections.
    const finished = await graph.invoke({ topic: "Tides" }, config);
    expect(server.sectionRequests().length - before).toBe(10);
    expect(finished.completedSections).toHaveLength(10);
    expect(finished.report).not.toMatch(/token budget/);
  });

  test("a budget already spent by planning starts no section at all", async () => {
    server = await startOpenAIServer({ plan: defaultPlan(3) });
    const graph = buildGraph({
      environment: {
        openaiApiKey: "sk-test",
        openaiBaseUrl: server.baseURL,
        workingDirectory: ".",
      },
    });
    const result = await graph.invoke({ topic: "Tides" }, { configurable: { maxTotalTokens: 1 } });
    expect(server.sectionRequests()).toHaveLength(0);
    expect(result.completedSections).toEqual([]);
    expect(result.warnings.join("\n")).toMatch(/3 sections were not started/);
  });
});
