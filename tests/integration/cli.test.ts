import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { IN_MEMORY_NOTICE } from "../../src/cli/run-store.js";
import { startOpenAIServer, type OpenAIServer } from "../../src/testing/index.js";
import { defaultPlan } from "../../src/testing/index.js";
import { cleanEnvironment } from "../helpers/process.js";
import { runCli, startCli, type CliResult } from "../helpers/run-cli.js";
import { startWikipediaServer } from "../helpers/wikipedia-server.js";

const API_KEY = "sk-cli-test-SECRET-42";

/** Runs `command` in `sh -c`, as a user types it, from the repository with `directory` as INIT_CWD. */
function shell(command: string, directory: string): Promise<CliResult> {
  const child = spawn("sh", ["-c", command], {
    env: { ...cleanEnvironment(), INIT_CWD: directory },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((done, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => done({ code, signal, stdout, stderr }));
  });
}

/** The built CLI as a shell word, what tests/helpers/run-cli.ts runs. */
const CLI = `"${process.execPath}" "${resolve("dist/cli/main.js")}"`;

/** A three-section plan whose third section the server refuses (400) every time it is asked. */
function partThreeRefused(): Parameters<typeof startOpenAIServer>[0] {
  return {
    plan: defaultPlan(3),
    respond: (request) =>
      request.sectionName === "Part 3"
        ? { status: 400, body: { error: { message: "refused by test" } } }
        : undefined,
  };
}

describe("CLI", () => {
  let directory: string;
  let server: OpenAIServer | undefined;

  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), "report-cli-"));
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
    await rm(directory, { recursive: true, force: true });
  });

  test("with no key and no base URL, writes a labelled offline report and prints its path", async () => {
    const out = join(directory, "report.md");
    const result = await runCli(["How tides work", "--out", out], { directory });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${out}\n`);
    expect(result.stderr).toMatch(/offline placeholder model/);
    expect(result.stderr).toMatch(/Plan: 5 sections/);
    expect(result.stderr).toMatch(/\[5\/5\] done: /);
    const report = await readFile(out, "utf8");
    expect(report).toMatch(/^# How tides work\n/);
    expect(report).toMatch(/offline placeholder model/);
  });

  test("against an OpenAI-compatible server: one plan call, one call per section, plan order, no key leaked", async () => {
    const plan = defaultPlan(7);
    server = await startOpenAIServer({
      plan,
      latencyMs: (request) => (request.kind === "plan" ? 0 : Math.floor(Math.random() * 50)),
    });
    const out = join(directory, "tides.md");
    const result = await runCli(["How tides work", "--out", out, "--model", "local-model"], {
      env: { OPENAI_BASE_URL: server.baseURL, OPENAI_API_KEY: API_KEY },
      directory,
    });
    expect(result.stderr).not.toMatch(/error/);
    expect(result.code).toBe(0);
    expect(server.planRequests()).toHaveLength(1);
    expect(server.sectionRequests()).toHaveLength(7);
    expect(server.requests.every((request) => request.body.model === "local-model")).toBe(true);
    const report = await readFile(out, "utf8");
    expect([...report.matchAll(/^## (.*)$/gm)].map((match) => match[1])).toEqual(
      plan.map((section) => section.name),
    );
    expect(report).not.toMatch(/offline/);
    expect(result.stderr).toMatch(
      /^Tokens: [\d,]+ in, [\d,]+ out, [\d,]+ in all; estimated cost unknown \(no price for local-model\)\.$/m,
    );
    for (const text of [result.stdout, result.stderr, report]) expect(text).not.toContain(API_KEY);
  });

  test("a model server that does not answer is named, with why, in one line", async () => {
    // A port nothing listens on: taken from the system, then given back.
    const closed = createServer();
    await new Promise<void>((done) => closed.listen(0, "127.0.0.1", done));
    const { port } = closed.address() as { port: number };
    await new Promise((done) => closed.close(done));
    const result = await runCli(["How tides work", "--model", "local-model"], {
      env: { OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1`, OPENAI_API_KEY: API_KEY },
      directory,
    });
    expect(result.code).toBe(1);
    // Was "error (unexpected): Connection error.", which named neither the server nor the cause.
    expect(result.stderr).toContain(
      `error: The model server at http://127.0.0.1:${port} did not answer (ECONNREFUSED): is it running`,
    );
    expect(result.stderr).not.toContain(API_KEY);
  });

  test("--plan writes a ready-made plan without a plan call", async () => {
    server = await startOpenAIServer();
    const planFile = join(directory, "plan.json");
    await writeFile(
      planFile,
      JSON.stringify([
        { name: "Moon", description: "The moon's pull." },
        { name: "Sun", description: "The sun's pull." },
      ]),
    );
    const out = join(directory, "r.md");
    const result = await runCli(["Tides", "--plan", planFile, "--out", out], {
      env: { OPENAI_BASE_URL: server.baseURL },
      directory,
    });
    expect(result.code).toBe(0);
    expect(server.planRequests()).toHaveLength(0);
    expect(server.sectionRequests()).toHaveLength(2);
    expect(await readFile(out, "utf8")).toMatch(/## Moon[\s\S]*## Sun/);
  });

  test.each([
    [["   "], /topic is empty/],
    [[], /topic is empty/],
    [["Tides", "--max-sections", "0"], /--max-sections.*whole number of 1 or more/],
    [["Tides", "--max-sections", "abc"], /--max-sections.*whole number/],
    [["Tides", "--temperature", "5"], /--temperature.*0 to 2/],
    [["Tides", "--bogus"], /unknown option '--bogus'/],
    [["Tides", "--out", "/nonexistent-dir/r.md"], /Cannot write to \/nonexistent-dir/],
    [["Tides", "--plan", "/nonexistent-plan.json"], /Cannot read the plan file/],
    [["x".repeat(2001)], /shorten it to at most 2000/],
    [["Tides", "--max-concurrency", "-3"], /--max-concurrency.*whole number of 1 or more/],
  ])(
    "bad usage %j exits 2 with one line, sends nothing and writes nothing",
    async (args, message) => {
      server = await startOpenAIServer({ plan: defaultPlan(2) });
      const result = await runCli(
        [...args, ...(args.includes("--out") ? [] : ["--out", join(directory, "r.md")])],
        { env: { OPENAI_BASE_URL: server.baseURL }, directory },
      );
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr.trim().split("\n")).toHaveLength(1);
      expect(result.stdout).toBe("");
      expect(server.requests).toHaveLength(0);
      expect(await readdir(directory)).toEqual([]);
    },
  );

  test("an existing report is not overwritten without --force", async () => {
    const out = join(directory, "report.md");
    await writeFile(out, "my notes");
    const refused = await runCli(["Tides", "--out", out], { directory });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/already exists: pass --force/);
    expect(await readFile(out, "utf8")).toBe("my notes");

    const forced = await runCli(["Tides", "--out", out, "--force"], { directory });
    expect(forced.code).toBe(0);
    expect(await readFile(out, "utf8")).toMatch(/^# Tides/);
    // No temporary file is left beside the report.
    expect((await readdir(directory)).filter((name) => !name.startsWith("."))).toEqual([
      "report.md",
    ]);
  });

  test("re-running without --out replaces the report.md it wrote, never one the user wrote or edited", async () => {
    const out = join(directory, "report.md");
    const first = await runCli(["How tides work"], { directory });
    expect(first.code).toBe(0);
    expect(first.stdout).toBe(`${out}\n`);
    // The README's quick start, run again in the same folder (here about another topic).
    const again = await runCli(["How waves work"], { directory });
    expect(again.stderr).not.toMatch(/error/);
    expect(again.code).toBe(0);
    const rewritten = await readFile(out, "utf8");
    expect(rewritten).toMatch(/^# How waves work\n/);
    expect(rewritten).toMatch(
      /\n\n<!-- Written by orchestrator-workers \(sha256 [0-9a-f]{64}\)[^\n]*-->\n$/,
    );

    const refusedWith = async (content: string, args: string[], message: RegExp) => {
      await writeFile(out, content);
      const result = await runCli(["How tides work", ...args], { directory });
      expect([result.code, result.stderr.trim().split("\n")]).toEqual([
        2,
        [expect.stringMatching(message)],
      ]);
      expect(await readFile(out, "utf8")).toBe(content);
    };
    const notOurs =
      /report\.md already exists and is not a report this CLI wrote \(or it was edited since\): pass --force/;
    // A file the user wrote; the report with a word changed (its marker intact); notes added after it.
    await refusedWith("my notes", [], notOurs);
    await refusedWith(rewritten.replace("How waves work", "How waves REALLY work"), [], notOurs);
    await refusedWith(`${rewritten}\nMy notes.\n`, [], notOurs);
    // A path given with --out is never replaced without --force, even the default one.
    await refusedWith(rewritten, ["--out", "report.md"], /already exists: pass --force/);
    expect((await readdir(directory)).filter((name) => !name.startsWith("."))).toEqual([
      "report.md",
    ]);
  });

  test("a failing server exits 1 with a one-line error and writes nothing", async () => {
    server = await startOpenAIServer({
      respond: () => ({ status: 400, body: { error: { message: "bad request from test" } } }),
    });
    const out = join(directory, "r.md");
    const result = await runCli(["Tides", "--out", out], {
      env: { OPENAI_BASE_URL: server.baseURL, OPENAI_API_KEY: API_KEY },
      directory,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error.*bad request from test/m);
    expect(result.stderr).not.toContain(API_KEY);
    expect((await readdir(directory)).filter((name) => !name.startsWith("."))).toEqual([]);
  });

  test("a failed section: the report is written with the gap marked, a summary printed, exit 1", async () => {
    server = await startOpenAIServer(partThreeRefused());
    const out = join(directory, "r.md");
    const result = await runCli(["Tides", "--out", out], {
      env: { OPENAI_BASE_URL: server.baseURL },
      directory,
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe(`${out}\n`);
    expect(result.stderr).toMatch(/1 of 3 sections failed/);
    expect(result.stderr).toMatch(/s3 {2}Part 3: .*refused by test/);
    const report = await readFile(out, "utf8");
    expect(report).toMatch(
      /## Part 3\n\n_This section is missing: writing it failed \(.*refused by test.*\)\._/,
    );
    expect(report).toContain('Text of section "Part 1".');
  });

  test("--fail-fast (generated from failFast): a failed section stops the run, exit 1, no report", async () => {
    server = await startOpenAIServer(partThreeRefused());
    const out = join(directory, "r.md");
    const result = await runCli(["Tides", "--out", out, "--fail-fast", "--max-retries", "0"], {
      env: { OPENAI_BASE_URL: server.baseURL },
      directory,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: .*s3 failed \(failFast\).*refused by test/m);
    expect(result.stdout).toBe("");
    expect(await readdir(directory)).not.toContain("r.md");
  });

  test("--review: feedback re-plans, then approval writes the plan", async () => {
    server = await startOpenAIServer({ plan: defaultPlan(2) });
    const out = join(directory, "r.md");
    const result = await runCli(["Tides", "--out", out, "--review"], {
      env: { OPENAI_BASE_URL: server.baseURL },
      directory,
      stdin: "f\nCover tidal power too.\na\n",
    });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(
      /Plan for "Tides" \(3 revisions left\):\n {2}s1 {2}Part 1: What part 1 covers\./,
    );
    expect(result.stderr).toMatch(/\(2 revisions left\)/);
    expect(server.planRequests()).toHaveLength(2);
    expect(server.planRequests()[1]!.prompt).toContain("Cover tidal power too.");
    expect(server.sectionRequests()).toHaveLength(2);
  });

  test("--review: an edited plan typed as JSON replaces the plan", async () => {
    server = await startOpenAIServer({ plan: defaultPlan(3) });
    const out = join(directory, "r.md");
    const result = await runCli(["Tides", "--out", out, "--review"], {
      env: { OPENAI_BASE_URL: server.baseURL },
      directory,
      stdin: 'e\n[{"name": "Moon", "description": "The moon."}]\n',
    });
    expect(result.code).toBe(0);
    expect(server.sectionRequests().map((request) => request.sectionName)).toEqual(["Moon"]);
    expect(await readFile(out, "utf8")).toMatch(/## Moon/);
  });

  test("--review with no answer leaves the run paused and says how to resume; nothing is written", async () => {
    server = await startOpenAIServer({ plan: defaultPlan(2) });
    const out = join(directory, "r.md");
    const args = ["Tides", "--out", out, "--review", "--thread", "t-review"];
    const env = { OPENAI_BASE_URL: server.baseURL };
    const paused = await runCli(args, { env, directory, stdin: "" });
    expect(paused.code).toBe(1);
    expect(paused.stderr).toMatch(/The run is paused: run again with --thread t-review --review/);
    expect(server.sectionRequests()).toHaveLength(0);
    await expect(readFile(out, "utf8")).rejects.toThrow();

    const resumed = await runCli(args, { env, directory, stdin: "a\n" });
    expect(resumed.code).toBe(0);
    expect(server.planRequests()).toHaveLength(1);
    expect(server.sectionRequests()).toHaveLength(2);
  });

  test("--sources, offline: the report's sections cite passages from files in that folder", async () => {
    const docs = join(directory, "docs");
    await mkdir(docs);
    await writeFile(join(docs, "tides.md"), "# Tides\n\nThe Moon's pull makes the tides.\n");
    const out = join(directory, "r.md");
    const result = await runCli(["How tides work", "--sources", "docs", "--out", out], {
      directory,
    });
    expect(result.code).toBe(0);
    const report = await readFile(out, "utf8");
    expect(report).toMatch(/\[1\]/);
    expect(report).toMatch(/## References\n\n1\. tides\.md, lines 1-3\n/);
  });

  test("--sources with a directory that holds no text files exits 2 before any request", async () => {
    server = await startOpenAIServer({ plan: defaultPlan(2) });
    await mkdir(join(directory, "empty"));
    const result = await runCli(["Tides", "--sources", "empty", "--out", join(directory, "r.md")], {
      env: { OPENAI_BASE_URL: server.baseURL },
      directory,
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/holds no Markdown or text files/);
    expect(server.requests).toHaveLength(0);
  });

  test("--wikipedia-url: sections cite articles from the (local) wiki, with title and URL", async () => {
    const wiki = await startWikipediaServer({
      pages: [{ title: "Tide", extract: "Tides are the rise and fall of sea levels." }],
    });
    try {
      const out = join(directory, "r.md");
      const result = await runCli(["Tides", "--wikipedia-url", wiki.baseUrl, "--out", out], {
        directory,
      });
      expect(result.code).toBe(0);
      const report = await readFile(out, "utf8");
      expect(report).toContain(`## References\n\n1. Tide, ${wiki.baseUrl}/wiki/Tide\n`);
      expect(wiki.queries.length).toBeGreaterThan(0);
    } finally {
      await wiki.close();
    }
  });

  test("--roles with a malformed roster exits 2 with the field to fix", async () => {
    await writeFile(join(directory, "roles.json"), JSON.stringify([{ name: "physicist" }]));
    const result = await runCli(
      ["Tides", "--roles", "roles.json", "--out", join(directory, "r.md")],
      { directory },
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/roles\.0\.background/);
  });

  test("--preset qa and --preset itinerary produce their kinds of output from the same graph, offline", async () => {
    const qa = await runCli(
      [
        "Why are there tides? When are they highest?",
        "--preset",
        "qa",
        "--out",
        join(directory, "qa.md"),
      ],
      { directory },
    );
    expect(qa.code).toBe(0);
    const sheet = await readFile(join(directory, "qa.md"), "utf8");
    expect(sheet).toMatch(/## Conclusion\n/); // the aggregated answer sheet

    const trip = await runCli(
      ["Two days in Lisbon", "--preset", "itinerary", "--out", join(directory, "trip.md")],
      { directory },
    );
    expect(trip.code).toBe(0);
    const itinerary = await readFile(join(directory, "trip.md"), "utf8");
    expect(itinerary).toMatch(/^# Two days in Lisbon\n/);
    expect(itinerary).not.toMatch(/^## /m); // one combined plan, not the research sections
    expect(itinerary).toContain("Placeholder answer");
  });

  test("--version prints the package's version and exits 0", async () => {
    const { version } = JSON.parse(await readFile("package.json", "utf8")) as { version: string };
    const result = await runCli(["--version"], { directory });
    expect(result).toEqual({ code: 0, signal: null, stdout: `${version}\n`, stderr: "" });
  });

  test.each(["--help", "--version", "runs", '"How tides work" --out -'])(
    "%s | head -1: exit 0, the first line, nothing on stderr",
    async (args) => {
      const result = await shell(`${CLI} ${args} | head -1`, directory);
      expect(result.stderr).not.toMatch(/error|EPIPE/i);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^[^\n]+\n$/);
      if (!args.startsWith('"')) expect(result.stderr).toBe("");
    },
  );

  // `| head -1` leaves only once it has read a line, usually after the CLI wrote everything: the
  // reader here is gone before the CLI starts writing, so every write meets EPIPE.
  test.each([
    [["--help"], 0],
    [["--version"], 0],
    [["runs"], 0],
    [["How tides work", "--out", "-"], 141],
  ])("%j with stdout closed by its reader exits %d, quietly", async (args, code) => {
    const cli = startCli(args, { directory });
    cli.child.stdout.destroy();
    const result = await cli.result;
    expect(result.stderr).not.toMatch(/error|EPIPE|^\s+at /im);
    expect(result.code).toBe(code);
    // A run's report did not arrive, but the run is done and stored.
    if (code === 141) expect(result.stderr).toMatch(/^Run \S+ \(stored in /m);
  });

  test("--help documents the options and exits 0", async () => {
    const result = await runCli(["--help"], { directory });
    expect(result.code).toBe(0);
    for (const option of [
      "--out",
      "--force",
      "--max-sections",
      "--model",
      "--offline",
      "--plan",
      "--thread",
      "--review",
      "--max-concurrency",
      "--sources",
      "--max-worker-steps",
      "--wikipedia",
      "--roles",
      "--preset",
      "--synthesis",
      "--max-total-tokens",
    ]) {
      expect(result.stdout).toContain(option);
    }
  });
});

describe("CLI without the SQLite saver package (an install without devDependencies)", () => {
  let directory: string;
  let hooks: string;
  let env: Record<string, string>;
  let server: OpenAIServer | undefined;

  beforeAll(async () => {
    // Module resolution answers for the package as it does when it is not installed.
    hooks = await mkdtemp(join(tmpdir(), "no-sqlite-hooks-"));
    await writeFile(
      join(hooks, "hooks.mjs"),
      `export async function resolve(specifier, context, next) {
  if (specifier === "@langchain/langgraph-checkpoint-sqlite") {
    const error = new Error(\`Cannot find package '\${specifier}' imported from \${context.parentURL}\`);
    error.code = "ERR_MODULE_NOT_FOUND";
    throw error;
  }
  return next(specifier, context);
}
`,
    );
    await writeFile(
      join(hooks, "register.mjs"),
      'import { register } from "node:module";\nregister("./hooks.mjs", import.meta.url);\n',
    );
    env = { NODE_OPTIONS: `--import ${pathToFileURL(join(hooks, "register.mjs")).href}` };
  });
  afterAll(async () => {
    await rm(hooks, { recursive: true, force: true });
  });
  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), "report-cli-no-sqlite-"));
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
    await rm(directory, { recursive: true, force: true });
  });

  test("a run works in memory and says once, in one line, how to get durable runs; nothing is stored", async () => {
    const result = await runCli(["How tides work", "--out", "-"], { env, directory });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^# How tides work\n/);
    const notices = result.stderr.split("\n").filter((line) => line.includes("npm install"));
    expect(notices).toEqual([IN_MEMORY_NOTICE]);
    expect(IN_MEMORY_NOTICE).toContain("npm install @langchain/langgraph-checkpoint-sqlite");
    expect(result.stderr).not.toMatch(/stored in|--thread/);
    expect(await readdir(directory)).toEqual([]);
  });

  test.each([
    [["How tides work", "--thread", "t1"], /^error: A run that can be resumed \(--thread\) needs/],
    [["--thread", "t1"], /^error: Resuming a stored run \(--thread\) needs/],
    [
      ["How tides work", "--db", "runs.sqlite"],
      /^error: Storing runs in runs\.sqlite \(--db\) needs/,
    ],
    [["runs"], /^error: Listing stored runs \(orchestrator-workers runs\) needs/],
    [["runs", "prune", "--older-than", "1d"], /^error: Pruning stored runs .* needs/],
  ])(
    "%j is refused: exit 2, one line saying what to install, nothing sent or written",
    async (args, message) => {
      server = await startOpenAIServer({ plan: defaultPlan(2) });
      const result = await runCli(args, {
        env: { ...env, OPENAI_BASE_URL: server.baseURL },
        directory,
      });
      expect(result.code).toBe(2);
      expect(result.stderr.trim().split("\n")).toEqual([expect.stringMatching(message)]);
      expect(result.stderr).toContain(
        "npm install @langchain/langgraph-checkpoint-sqlite, or set POSTGRES_URL",
      );
      expect(server.requests).toHaveLength(0);
      expect(await readdir(directory)).toEqual([]);
    },
  );
});
