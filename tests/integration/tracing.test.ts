import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startOpenAIServer, type OpenAIServer } from "../../src/testing/index.js";
import { startLangSmithReceiver, type LangSmithReceiver } from "../helpers/langsmith-receiver.js";
import { defaultPlan } from "../../src/testing/index.js";
import { runCli } from "../helpers/run-cli.js";

const OPENAI_KEY = "sk-trace-test-OPENAI-SECRET";
const LANGSMITH_KEY = "lsv2-trace-test-LANGSMITH-SECRET";

describe("LangSmith tracing, against a local receiver", () => {
  let models: OpenAIServer;
  let receiver: LangSmithReceiver;
  afterEach(async () => {
    await models?.close();
    await receiver?.close();
  });

  test("a CLI run sends the named run tree (graph, orchestrator, one worker per section, synthesizer) before it exits, with no secret in it", async () => {
    models = await startOpenAIServer({ plan: defaultPlan(3) });
    receiver = await startLangSmithReceiver();
    const directory = await mkdtemp(join(tmpdir(), "report-trace-"));
    const result = await runCli(["Tides", "--out", join(directory, "r.md")], {
      directory,
      env: {
        OPENAI_BASE_URL: models.baseURL,
        OPENAI_API_KEY: OPENAI_KEY,
        LANGSMITH_TRACING: "true",
        LANGSMITH_ENDPOINT: receiver.endpoint,
        LANGSMITH_API_KEY: LANGSMITH_KEY,
        LANGSMITH_PROJECT: "trace-test",
      },
    });
    expect(result.code).toBe(0);

    const runs = receiver.runs();
    const roots = runs.filter((run) => !run.parent_run_id);
    expect(roots.map((run) => run.name)).toEqual(["report"]);
    const root = roots[0]!;
    expect(root.tags).toContain("orchestrator-workers");
    expect(root.end_time).toBeTruthy();

    const children = runs.filter((run) => run.parent_run_id === root.id);
    const count = (name: string) => children.filter((run) => run.name === name).length;
    expect(count("orchestrator")).toBe(1);
    expect(count("worker")).toBe(3);
    expect(count("synthesizer")).toBe(1);

    // Each worker's work is one child run named after its section, carrying the section's metadata.
    const workers = children.filter((run) => run.name === "worker");
    const sectionRuns = workers.map((worker) => {
      const below = runs.filter((run) => run.parent_run_id === worker.id);
      expect(below).toHaveLength(1);
      return below[0]!;
    });
    expect(
      sectionRuns
        .map((run) => [
          run.name,
          run.extra?.metadata?.section_id,
          run.extra?.metadata?.section_name,
        ])
        .sort(),
    ).toEqual([
      ["Part 1", "s1", "Part 1"],
      ["Part 2", "s2", "Part 2"],
      ["Part 3", "s3", "Part 3"],
    ]);
    for (const section of sectionRuns) {
      expect(section.tags).toContain(`section:${String(section.extra?.metadata?.section_id)}`);
      // The worker's model call sits under it and names the section too.
      const llm = runs.filter((run) => run.parent_run_id === section.id && run.run_type === "llm");
      expect(llm).toHaveLength(1);
      expect(llm[0]!.extra?.metadata?.section_id).toBe(section.extra?.metadata?.section_id);
    }
    const orchestrator = children.find((run) => run.name === "orchestrator")!;
    // withStructuredOutput wraps the model call in a sequence, so look below the node, at any depth.
    const below = (id: string): typeof runs =>
      runs.filter((run) => run.parent_run_id === id).flatMap((run) => [run, ...below(run.id)]);
    const plannerCalls = below(orchestrator.id);
    expect(
      plannerCalls.some((run) => run.run_type === "llm" && run.tags?.includes("planner")),
    ).toBe(true);

    // The synthesizer's assembly carries the run's token usage.
    const synthesizerRun = children.find((run) => run.name === "synthesizer")!;
    const assemble = runs.find(
      (run) => run.parent_run_id === synthesizerRun.id && run.name === "assemble",
    )!;
    expect(assemble.extra?.metadata?.total_tokens).toEqual(expect.any(Number));
    expect(assemble.extra?.metadata?.total_tokens as number).toBeGreaterThan(0);

    // No key in any payload the tracer sent.
    for (const body of receiver.bodies()) {
      expect(body).not.toContain(OPENAI_KEY);
      expect(body).not.toContain(LANGSMITH_KEY);
    }
    expect(
      receiver.requests().every((line) => /^(GET \/info|POST \/runs|PATCH \/runs)/.test(line)),
    ).toBe(true);
  }, 60_000);

  test("under section review and citation checks, each section's run holds a review run and the verifier's call", async () => {
    models = await startOpenAIServer({ plan: defaultPlan(2) });
    receiver = await startLangSmithReceiver();
    const directory = await mkdtemp(join(tmpdir(), "report-trace-"));
    await mkdir(join(directory, "docs"));
    // The test server's writers search for their section's name and cite what comes back.
    await writeFile(
      join(directory, "docs", "tides.md"),
      "# Tides, Part 1 and Part 2\n\nThe moon pulls the sea.\n",
    );
    const result = await runCli(
      [
        "Tides",
        "--out",
        join(directory, "r.md"),
        "--sources",
        "docs",
        "--review-sections",
        "0",
        "--verify-citations",
        "llm",
      ],
      {
        directory,
        env: {
          OPENAI_BASE_URL: models.baseURL,
          LANGSMITH_TRACING: "true",
          LANGSMITH_ENDPOINT: receiver.endpoint,
          LANGSMITH_API_KEY: LANGSMITH_KEY,
        },
      },
    );
    expect(result.code).toBe(0);
    const runs = receiver.runs();
    const below = (id: string): typeof runs =>
      runs.filter((run) => run.parent_run_id === id).flatMap((run) => [run, ...below(run.id)]);
    const sectionRuns = runs.filter((run) => run.name === "Part 1" || run.name === "Part 2");
    expect(sectionRuns).toHaveLength(2);
    for (const section of sectionRuns) {
      const reviews = runs.filter(
        (run) => run.parent_run_id === section.id && run.name === "review",
      );
      expect(reviews).toHaveLength(1);
      expect(reviews[0]!.extra?.metadata?.section_id).toBe(section.extra?.metadata?.section_id);
      expect(
        below(reviews[0]!.id).some(
          (run) => run.run_type === "llm" && run.tags?.includes("reviewer"),
        ),
      ).toBe(true);
      expect(
        below(section.id).some((run) => run.run_type === "llm" && run.tags?.includes("verifier")),
      ).toBe(true);
    }
  }, 60_000);
});
