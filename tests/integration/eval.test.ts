import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Environment } from "../../src/env.js";
import {
  defaultPlan,
  startOpenAIServer,
  type OpenAIServer,
  type RecordedRequest,
  type ServerReply,
} from "../../src/testing/index.js";
import { runEval } from "../../eval/run.js";
import type { CaseResult } from "../../eval/harness.js";
import type { Comparison, ConfigurationSummary } from "../../eval/results.js";
import { startLangSmithApi, type LangSmithApi } from "../helpers/langsmith-api.js";
import { cleanEnvironment } from "../helpers/process.js";

/** The JSON results file, as far as these tests read it. */
interface ResultsDocument {
  summary: ConfigurationSummary[];
  comparisons: Comparison[];
  results: CaseResult[];
  langsmith?: { dataset: string; experiments: { configuration: string; experimentName: string }[] };
}

/** The structured-output schema a request asks for: response format, forced tool, or prompt block. */
function schemaNameOf(request: RecordedRequest): string | undefined {
  const choice = request.body.tool_choice as { function?: { name?: string } } | undefined;
  return (
    request.body.response_format?.json_schema?.name ??
    choice?.function?.name ??
    /<Output schema name=\\?"([^"\\]+)\\?">/.exec(JSON.stringify(request.body.messages))?.[1]
  );
}

const holds = (request: RecordedRequest, marker: string) =>
  JSON.stringify(request.body.messages).includes(marker);

/** A scripted judge's answer: the same score and reason for every criterion but the ones given. */
function verdict(scores: Record<string, number>): ServerReply {
  const criteria = [
    "factualAccuracy",
    "citationAccuracy",
    "completeness",
    "sourceQuality",
    "toolEfficiency",
  ];
  return {
    content: JSON.stringify(
      Object.fromEntries(
        criteria.map((criterion) => [
          criterion,
          { score: scores[criterion] ?? 0.5, reason: `scripted ${criterion}` },
        ]),
      ),
    ),
  };
}

const tokensOf = (requests: RecordedRequest[]) =>
  requests.reduce((sum, request) => sum + (request.usage?.total_tokens ?? 0), 0);
/** gpt-4.1-mini's price in the default table (the model the local server is asked for). */
const costOf = (requests: RecordedRequest[]) =>
  requests.reduce(
    (sum, request) =>
      sum +
      ((request.usage?.prompt_tokens ?? 0) * 0.4 + (request.usage?.completion_tokens ?? 0) * 1.6) /
        1_000_000,
    0,
  );

function environmentFor(server: OpenAIServer, directory: string): Environment {
  return {
    openaiBaseUrl: server.baseURL,
    openaiApiKey: "sk-eval-test",
    workingDirectory: directory,
  };
}

async function evaluate(argv: string[], environment: Environment) {
  let stdout = "";
  let stderr = "";
  const code = await runEval(argv, environment, {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
  });
  return { code, stdout, stderr };
}

async function readResults(file: string): Promise<ResultsDocument> {
  return JSON.parse(await readFile(file, "utf8")) as ResultsDocument;
}

const byKey = (results: CaseResult[], configuration: string, caseId: string) =>
  results.find((result) => result.configuration === configuration && result.caseId === caseId)!;

/** A small dataset: one case with sources and every fact present, one with a failing section and a missing fact. */
async function writeSmallDataset(directory: string) {
  await mkdir(join(directory, "data", "sources", "alpha"), { recursive: true });
  await writeFile(
    join(directory, "data", "sources", "alpha", "notes.md"),
    "# Alpha one\n\nAlpha one is the first thing about alpha.\n\n# Alpha two\n\nAlpha two follows it.\n",
  );
  const cases = [
    {
      id: "alpha",
      topic: "Alpha topic",
      sources: "sources/alpha",
      plan: [
        { name: "Alpha one", description: "The first part." },
        { name: "Alpha two", description: "The second part." },
      ],
      referenceNotes: "Alpha has two parts.",
      requiredFacts: ["more about ALPHA one", "More about Alpha two."],
    },
    {
      id: "beta",
      topic: "Beta topic",
      plan: [
        { name: "Beta fine", description: "Written." },
        { name: "Beta broken", description: "Its request fails." },
      ],
      requiredFacts: ["More about Beta fine", "the far side of the moon"],
    },
  ];
  await writeFile(
    join(directory, "data", "cases.jsonl"),
    cases.map((entry) => JSON.stringify(entry)).join("\n") + "\n",
  );
  await writeFile(
    join(directory, "a.json"),
    JSON.stringify({ name: "plain", synthesis: "join", maxRetries: 0 }),
  );
  await writeFile(
    join(directory, "b.json"),
    JSON.stringify({ name: "framed", synthesis: "llm", maxRetries: 0 }),
  );
}

/** The judge's script: fixed scores per topic; completeness is higher for a framed report. */
const JUDGE_SCRIPT: Record<
  string,
  { plain: Record<string, number>; framed: Record<string, number> }
> = {
  "Alpha topic": {
    plain: {
      factualAccuracy: 0.8,
      citationAccuracy: 0.7,
      completeness: 0.5,
      sourceQuality: 0.6,
      toolEfficiency: 0.4,
    },
    framed: {
      factualAccuracy: 0.8,
      citationAccuracy: 0.7,
      completeness: 0.9,
      sourceQuality: 0.6,
      toolEfficiency: 0.4,
    },
  },
  "Beta topic": {
    plain: {
      factualAccuracy: 0.3,
      citationAccuracy: 0.2,
      completeness: 0.3,
      sourceQuality: 0.1,
      toolEfficiency: 1,
    },
    framed: {
      factualAccuracy: 0.3,
      citationAccuracy: 0.2,
      completeness: 0.7,
      sourceQuality: 0.1,
      toolEfficiency: 1,
    },
  },
};

function smallDatasetReply(request: RecordedRequest): ServerReply | undefined {
  if (schemaNameOf(request) === "judge") {
    const topic = holds(request, "Alpha topic") ? "Alpha topic" : "Beta topic";
    // The aggregator's framing (synthesis llm) is what tells the framed report apart.
    const framed = holds(request, "Server conclusion.");
    return verdict(JUDGE_SCRIPT[topic]![framed ? "framed" : "plain"]);
  }
  if (request.kind === "section" && request.sectionName === "Beta broken") {
    return { status: 400, body: { error: { message: "scripted failure" } } };
  }
  return undefined;
}

describe("npm run eval", () => {
  let server: OpenAIServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  test("scores each case under each configuration as the scripted judge dictates, runs the deterministic checks, compares the configurations and writes both files", async () => {
    server = await startOpenAIServer({ respond: smallDatasetReply });
    const directory = await mkdtemp(join(tmpdir(), "eval-small-"));
    await writeSmallDataset(directory);
    const result = await evaluate(
      [
        "--dataset",
        "data/cases.jsonl",
        "--config",
        "a.json",
        "--config",
        "b.json",
        "--out",
        "out/RESULTS.md",
        "--json",
        "out/results.json",
      ],
      environmentFor(server, directory),
    );
    expect(result.stderr).not.toMatch(/error:/);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      `${join(directory, "out/RESULTS.md")}\n${join(directory, "out/results.json")}\n`,
    );
    // One progress line per finished run, counted.
    expect(result.stderr.match(/^\[\d\/4\] /gm)).toEqual(["[1/4] ", "[2/4] ", "[3/4] ", "[4/4] "]);

    const document = await readResults(join(directory, "out/results.json"));
    expect(document.results.map((entry) => `${entry.configuration}/${entry.caseId}`)).toEqual([
      "plain/alpha",
      "plain/beta",
      "framed/alpha",
      "framed/beta",
    ]);
    for (const entry of document.results) {
      const script = JUDGE_SCRIPT[entry.topic]![entry.configuration as "plain" | "framed"];
      expect(
        Object.fromEntries(
          Object.entries(entry.judge!.scores!).map(([criterion, value]) => [
            criterion,
            value.score,
          ]),
        ),
      ).toEqual(script);
      expect(entry.judge!.scores!.completeness.reason).toBe("scripted completeness");
    }

    // Deterministic checks: alpha is sound; beta's failed section leaves a marker and a fact is missing.
    const alpha = byKey(document.results, "plain", "alpha");
    expect(alpha.checks!.passed).toBe(true);
    expect(alpha.checks!.sections).toEqual({
      passed: true,
      planned: 2,
      missing: [],
      outOfOrder: [],
    });
    expect(alpha.checks!.citations.cited).toBeGreaterThan(0);
    expect(alpha.checks!.citations.dangling).toEqual([]);
    expect(alpha.checks!.citations.consulted).toBeGreaterThan(0);
    expect(alpha.checks!.requiredFacts.missing).toEqual([]);
    const beta = byKey(document.results, "plain", "beta");
    expect(beta.checks!.passed).toBe(false);
    expect(beta.metrics!.sectionsFailed).toBe(1);
    expect(beta.checks!.placeholders).toEqual([
      expect.stringMatching(/^_This section is missing: writing it failed/),
    ]);
    expect(beta.checks!.requiredFacts).toEqual({
      found: ["More about Beta fine"],
      missing: ["the far side of the moon"],
    });

    // The run's tokens are the run's requests only; the judge's are counted apart.
    const judgeRequests = server.requests.filter((request) => schemaNameOf(request) === "judge");
    expect(judgeRequests).toHaveLength(4);
    const runTokens = document.results.reduce((sum, entry) => sum + entry.metrics!.tokens!, 0);
    expect(runTokens).toBe(
      tokensOf(server.requests.filter((request) => schemaNameOf(request) !== "judge")),
    );
    expect(document.summary.reduce((sum, entry) => sum + entry.judgeTokens, 0)).toBe(
      tokensOf(judgeRequests),
    );

    // The comparison: framed − plain, per metric and per case.
    const [comparison] = document.comparisons;
    expect([comparison!.baseline, comparison!.candidate]).toEqual(["plain", "framed"]);
    const metric = (key: string) => comparison!.metrics.find((entry) => entry.key === key)!;
    expect(metric("completeness").baseline).toBeCloseTo(0.4, 10);
    expect(metric("completeness").candidate).toBeCloseTo(0.8, 10);
    expect(metric("completeness").difference).toBeCloseTo(0.4, 10);
    expect(metric("factualAccuracy").difference).toBeCloseTo(0, 10);
    expect(metric("checksPassed").baseline).toBe(0.5);
    expect(
      comparison!.cases.map((entry) => [entry.caseId, entry.differences.completeness]),
    ).toEqual([
      ["alpha", expect.closeTo(0.4, 10)],
      ["beta", expect.closeTo(0.4, 10)],
    ]);
    const framedTokens = (caseId: string) =>
      byKey(document.results, "framed", caseId).metrics!.tokens!;
    const plainTokens = (caseId: string) =>
      byKey(document.results, "plain", caseId).metrics!.tokens!;
    expect(comparison!.cases.find((entry) => entry.caseId === "alpha")!.differences.tokens).toBe(
      framedTokens("alpha") - plainTokens("alpha"),
    );

    // The Markdown file: a table per configuration, then the comparison.
    const markdown = await readFile(join(directory, "out/RESULTS.md"), "utf8");
    expect(markdown.match(/^## .*$/gm)).toEqual(["## plain", "## framed", "## framed vs plain"]);
    expect(markdown).toMatch(
      /^\| alpha \| 100% \| 100% \| 100% \| 100% \| 100% \| 0\.80 \| 0\.70 \| 0\.50 \| 0\.60 \| 0\.40 \|/m,
    );
    expect(markdown).toMatch(
      /^\| beta \| 0% \| 100% \| 0% \| 100% \| 50% \| 0\.30 \| 0\.20 \| 0\.30 \| 0\.10 \| 1\.00 \|/m,
    );
    expect(markdown).toMatch(/^\| complete \| 0\.40 \| 0\.80 \| \+0\.40 \|$/m);
    expect(markdown).toMatch(/^\| factual \| 0\.55 \| 0\.55 \| 0\.00 \|$/m);
    expect(markdown).toMatch(/^\| checks \| 50% \| 50% \| 0% \|$/m);
    expect(markdown).toContain("- beta: facts missing: the far side of the moon");
  }, 60_000);

  test("a bad dataset line is refused with one line naming it, before any model call, and nothing is written (as npm run eval runs it)", async () => {
    server = await startOpenAIServer({ respond: smallDatasetReply });
    const directory = await mkdtemp(join(tmpdir(), "eval-bad-"));
    await writeFile(
      join(directory, "cases.jsonl"),
      `${JSON.stringify({ id: "ok", topic: "Fine" })}\n\n${JSON.stringify({ id: "bad", topic: "" })}\n`,
    );
    const child = spawn(
      process.execPath,
      ["--import", "tsx", resolve("eval/run.ts"), "--dataset", "cases.jsonl"],
      {
        cwd: process.cwd(),
        env: { ...cleanEnvironment(), OPENAI_BASE_URL: server.baseURL, INIT_CWD: directory },
      },
    );
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((done) => child.on("close", done));
    expect(code).toBe(2);
    expect(stderr).toBe(
      `error: ${join(directory, "cases.jsonl")}:3: topic: Too small: expected string to have >=1 characters.\n`,
    );
    expect(server.requests).toHaveLength(0);
    await expect(stat(join(directory, "eval"))).rejects.toThrow(/ENOENT/);
  }, 60_000);

  test("a line with only a topic is a case, its id derived from the topic; a configuration file without a name is named by its file name", async () => {
    const directory = await mkdtemp(join(tmpdir(), "eval-derived-"));
    const lines = [
      { topic: "How tides work" },
      // The same topic again, and a slug that a later line takes as its own id.
      { topic: "How tides work", plan: [{ name: "Moon", description: "The moon's pull." }] },
      { topic: "Why is the sky blue?" },
      { id: "why-is-the-sky-blue-2", topic: "Rayleigh scattering" },
      // No letter of a to z to make a slug of: the line number.
      { topic: "潮汐" },
    ];
    await writeFile(
      join(directory, "cases.jsonl"),
      lines.map((line) => JSON.stringify(line)).join("\n\n") + "\n",
    );
    await writeFile(join(directory, "join-only.json"), JSON.stringify({ synthesis: "join" }));
    await writeFile(
      join(directory, "framed.json"),
      JSON.stringify({ name: "with framing", synthesis: "llm" }),
    );
    const run = () =>
      evaluate(
        [
          "--dataset",
          "cases.jsonl",
          "--config",
          "join-only.json",
          "--config",
          "framed.json",
          "--offline",
          "--out",
          "out/RESULTS.md",
          "--json",
          "out/results.json",
        ],
        { workingDirectory: directory },
      );
    const result = await run();
    expect(result.stderr).not.toMatch(/error:/);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain("configurations (join-only, with framing)");
    const ids = [
      "how-tides-work",
      "how-tides-work-2",
      "why-is-the-sky-blue",
      "why-is-the-sky-blue-2",
      "line-9",
    ];
    const document = await readResults(join(directory, "out/results.json"));
    expect(document.results.map((entry) => `${entry.configuration}/${entry.caseId}`)).toEqual([
      ...ids.map((id) => `join-only/${id}`),
      ...ids.map((id) => `with framing/${id}`),
    ]);
    expect(byKey(document.results, "join-only", "why-is-the-sky-blue-2").topic).toBe(
      "Rayleigh scattering",
    );
    const markdown = await readFile(join(directory, "out/RESULTS.md"), "utf8");
    expect(markdown.match(/^## .*$/gm)).toEqual([
      "## join-only",
      "## with framing",
      "## with framing vs join-only",
    ]);
    // The same file gives the same ids.
    expect((await run()).code).toBe(0);
    const again = await readResults(join(directory, "out/results.json"));
    expect(again.results.map((entry) => entry.caseId)).toEqual([...ids, ...ids]);
  }, 60_000);

  test("a configuration file with an unknown field, or two configurations of one name, is refused before any call", async () => {
    server = await startOpenAIServer({ respond: smallDatasetReply });
    const directory = await mkdtemp(join(tmpdir(), "eval-config-"));
    await writeSmallDataset(directory);
    await writeFile(
      join(directory, "typo.json"),
      JSON.stringify({ sectionReveiw: { enabled: true } }),
    );
    const typo = await evaluate(
      ["--dataset", "data/cases.jsonl", "--config", "typo.json"],
      environmentFor(server, directory),
    );
    expect(typo.code).toBe(2);
    expect(typo.stderr).toBe(
      `error: ${join(directory, "typo.json")}: unknown configuration field "sectionReveiw".\n`,
    );
    const twice = await evaluate(
      ["--dataset", "data/cases.jsonl", "--config", "a.json", "--config", "a.json"],
      environmentFor(server, directory),
    );
    expect(twice.code).toBe(2);
    expect(twice.stderr).toBe(
      'error: Two configurations are named "plain": give each file its own "name".\n',
    );
    expect(server.requests).toHaveLength(0);
  });
});

describe("npm run eval: section review", () => {
  let server: OpenAIServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  test("the shipped dataset under no-review and review-2, with a reviewer that fails each section once: one revision per section, the judge's completeness as scripted, and the token and cost difference equal to the review calls, the revisions and a dependent section's reading of a revision", async () => {
    const FEEDBACK = "REVISE-ME: say more.";
    const REVISED = "REVISED-MARK";
    server = await startOpenAIServer({
      plan: defaultPlan(2),
      respond: (request) => {
        const schema = schemaNameOf(request);
        if (schema === "judge") {
          return verdict({ completeness: holds(request, REVISED) ? 0.9 : 0.6 });
        }
        if (schema === "review") {
          // Fails a section until its text carries the revision's mark, then passes it.
          return {
            content: JSON.stringify(
              holds(request, REVISED)
                ? { pass: true, feedback: "", followUpQueries: [] }
                : { pass: false, feedback: FEEDBACK, followUpQueries: [] },
            ),
          };
        }
        if (request.kind === "section") {
          // Sections are written at once, without searching: requests whose tokens do not depend
          // on the server's tool-call ids, so both configurations' first drafts cost the same.
          return holds(request, FEEDBACK)
            ? { content: `Revised text of the section. ${REVISED}` }
            : { content: `Text of section "${request.sectionName}".\n\nMore about it.` };
        }
        return undefined;
      },
    });
    const directory = await mkdtemp(join(tmpdir(), "eval-review-"));
    const result = await evaluate(
      [
        "--dataset",
        resolve("eval/datasets/science.jsonl"),
        "--config",
        resolve("eval/configs/no-review.json"),
        "--config",
        resolve("eval/configs/review-2.json"),
        "--max-retries",
        "0",
        "--concurrency",
        "4",
        "--out",
        "RESULTS.md",
        "--json",
        "results.json",
      ],
      environmentFor(server, directory),
    );
    expect(result.code).toBe(0);
    const document = await readResults(join(directory, "results.json"));
    expect(document.results).toHaveLength(20);
    for (const entry of document.results) {
      expect([entry.caseId, entry.configuration, entry.error]).toEqual([
        entry.caseId,
        entry.configuration,
        undefined,
      ]);
      const revisions = entry.sections!.map((section) => section.review?.revisions ?? 0);
      if (entry.configuration === "review 2") {
        expect(entry.sections!.length).toBeGreaterThan(0);
        expect(revisions).toEqual(entry.sections!.map(() => 1));
        expect(entry.sections!.every((section) => section.review?.passed)).toBe(true);
        expect(entry.metrics!.revisions).toBe(entry.sections!.length);
        expect(entry.judge!.scores!.completeness.score).toBe(0.9);
      } else {
        expect(revisions).toEqual(entry.sections!.map(() => 0));
        expect(entry.metrics!.revisions).toBe(0);
        expect(entry.judge!.scores!.completeness.score).toBe(0.6);
      }
    }
    const [comparison] = document.comparisons;
    const metric = (key: string) => comparison!.metrics.find((entry) => entry.key === key)!;
    expect(metric("completeness").difference).toBeCloseTo(0.3, 10);
    const markdown = await readFile(join(directory, "RESULTS.md"), "utf8");
    expect(markdown).toMatch(/^\| complete \| 0\.60 \| 0\.90 \| \+0\.30 \|$/m);

    // What review adds: the reviewer's calls, the revising writers' calls, and a section that
    // depends on a revised one reading the revision instead of the first draft.
    const reviewCalls = server.requests.filter((request) => schemaNameOf(request) === "review");
    const drafts = server.requests.filter(
      (request) => request.kind === "section" && !holds(request, FEEDBACK),
    );
    const revisionCalls = server.requests.filter(
      (request) => request.kind === "section" && holds(request, FEEDBACK),
    );
    const readingRevisions = drafts.filter((request) => holds(request, REVISED));
    const dependents = new Set(readingRevisions.map((request) => request.sectionName));
    const readingDrafts = drafts.filter(
      (request) => dependents.has(request.sectionName) && !holds(request, REVISED),
    );
    expect(readingDrafts).toHaveLength(readingRevisions.length);
    const reviewed = document.results.filter((entry) => entry.configuration === "review 2");
    const sections = reviewed.reduce((sum, entry) => sum + entry.sections!.length, 0);
    // Each section is reviewed twice: failed, then passed after its one revision.
    expect(reviewCalls).toHaveLength(2 * sections);
    expect(revisionCalls).toHaveLength(sections);
    const total = (name: string, key: "tokens" | "costUsd") =>
      document.results
        .filter((entry) => entry.configuration === name)
        .reduce((sum, entry) => sum + entry.metrics![key]!, 0);
    expect(metric("revisions").candidate).toBe(sections / reviewed.length);
    expect(total("review 2", "tokens") - total("no review", "tokens")).toBe(
      tokensOf(reviewCalls) +
        tokensOf(revisionCalls) +
        tokensOf(readingRevisions) -
        tokensOf(readingDrafts),
    );
    expect(total("review 2", "costUsd") - total("no review", "costUsd")).toBeCloseTo(
      costOf(reviewCalls) +
        costOf(revisionCalls) +
        costOf(readingRevisions) -
        costOf(readingDrafts),
      10,
    );
    // The ledger's reviewer entry is the review calls' tokens.
    const reviewerTokens = reviewed.reduce(
      (sum, entry) => sum + (entry.metrics!.reviewerTokens ?? 0),
      0,
    );
    expect(reviewerTokens).toBe(tokensOf(reviewCalls));
  }, 120_000);
});

describe("npm run eval: LangSmith experiments", () => {
  let server: OpenAIServer | undefined;
  let langsmith: LangSmithApi | undefined;
  afterEach(async () => {
    await server?.close();
    await langsmith?.close();
    server = undefined;
    langsmith = undefined;
  });

  test("with LANGSMITH_API_KEY set, the dataset is uploaded once and each configuration is an experiment whose feedback is the scores of the results file", async () => {
    server = await startOpenAIServer({ respond: smallDatasetReply });
    langsmith = await startLangSmithApi();
    const directory = await mkdtemp(join(tmpdir(), "eval-langsmith-"));
    await writeSmallDataset(directory);
    const run = () =>
      new Promise<{ code: number | null; stderr: string; stdout: string }>((done) => {
        const child = spawn(
          process.execPath,
          [
            "--import",
            "tsx",
            resolve("eval/run.ts"),
            "--dataset",
            "data/cases.jsonl",
            "--config",
            "a.json",
            "--config",
            "b.json",
            "--out",
            "RESULTS.md",
            "--json",
            "results.json",
          ],
          {
            cwd: process.cwd(),
            env: {
              ...cleanEnvironment(),
              OPENAI_BASE_URL: server!.baseURL,
              INIT_CWD: directory,
              LANGSMITH_API_KEY: "lsv2-eval-test",
              LANGSMITH_ENDPOINT: langsmith!.endpoint,
            },
          },
        );
        let stderr = "";
        let stdout = "";
        child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
        child.on("close", (code) => done({ code, stderr, stdout }));
      });
    const first = await run();
    expect(first.stderr).not.toMatch(/^error/m);
    expect(first.code).toBe(0);
    expect(langsmith.unknown()).toEqual([]);

    const document = await readResults(join(directory, "results.json"));
    const [dataset] = langsmith.datasets();
    expect(langsmith.datasets()).toHaveLength(1);
    expect(dataset!.name).toBe(document.langsmith!.dataset);
    expect(dataset!.examples.map((example) => example.inputs.caseId)).toEqual(["alpha", "beta"]);
    expect(dataset!.examples[0]!.outputs).toEqual({
      referenceNotes: "Alpha has two parts.",
      requiredFacts: ["more about ALPHA one", "More about Alpha two."],
    });

    // One experiment per configuration, on that dataset.
    const sessions = langsmith.sessions();
    expect(sessions.map((session) => session.reference_dataset_id)).toEqual([
      dataset!.id,
      dataset!.id,
    ]);
    expect(document.langsmith!.experiments.map((entry) => entry.configuration)).toEqual([
      "plain",
      "framed",
    ]);
    expect(sessions.map((session) => session.name)).toEqual(
      document.langsmith!.experiments.map((entry) => entry.experimentName),
    );

    // Each experiment's runs carry the same scores as the results file, as feedback.
    const runs = langsmith.runs();
    for (const [index, session] of sessions.entries()) {
      const configuration = document.langsmith!.experiments[index]!.configuration;
      const roots = runs.filter(
        (entry) => entry.session_name === session.name && entry.parent_run_id === undefined,
      );
      expect(roots.map((root) => root.name)).toEqual(["runCase", "runCase"]);
      // The graph's own trace sits under each experiment run.
      expect(
        roots.map((root) =>
          runs.filter((entry) => entry.parent_run_id === root.id).map((entry) => entry.name),
        ),
      ).toEqual([["report"], ["report"]]);
      for (const root of roots) {
        const example = dataset!.examples.find(
          (candidate) => candidate.id === root.reference_example_id,
        )!;
        const caseId = String(example.inputs.caseId);
        const result = byKey(document.results, configuration, caseId);
        const scores = Object.fromEntries(
          langsmith
            .feedback()
            .filter((entry) => entry.run_id === root.id)
            .map((entry) => [entry.key, entry.score]),
        );
        expect([caseId, scores.completeness, scores.factualAccuracy, scores.checksPassed]).toEqual([
          caseId,
          result.judge!.scores!.completeness.score,
          result.judge!.scores!.factualAccuracy.score,
          result.checks!.passed ? 1 : 0,
        ]);
        expect(scores.tokens).toBe(result.metrics!.tokens);
        expect(
          langsmith
            .feedback()
            .find((entry) => entry.run_id === root.id && entry.key === "completeness")!.comment,
        ).toBe("scripted completeness");
      }
    }

    // A second evaluation of the same dataset reuses it.
    const second = await run();
    expect(second.code).toBe(0);
    expect(langsmith.datasets()).toHaveLength(1);
    expect(langsmith.datasets()[0]!.examples).toHaveLength(2);
    expect(langsmith.sessions()).toHaveLength(4);
  }, 120_000);
});
