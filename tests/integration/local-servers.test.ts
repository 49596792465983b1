/**
 * The CLI and the real ChatOpenAI client against servers that answer the way Ollama, vLLM,
 * llama.cpp's server, LM Studio and reasoning models are reported to (each quirk of the local test
 * server names the public report it imitates: src/testing/openai-server.ts).
 */
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  defaultPlan,
  startOpenAIServer,
  type OpenAIServer,
  type OpenAIServerOptions,
  type ServerQuirk,
} from "../../src/testing/index.js";
import { headings } from "../helpers/report.js";
import { runCli } from "../helpers/run-cli.js";

const PLAN = [
  { name: "Moon", description: "The moon's pull." },
  { name: "Sun", description: "The sun's pull." },
  { name: "Summary", description: "What both add up to.", dependsOn: ["s1", "s2"] },
];
const NAMES = PLAN.map((section) => section.name);

describe("local and open model servers", () => {
  let directory: string;
  let server: OpenAIServer | undefined;

  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), "local-servers-"));
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function run(options: OpenAIServerOptions, args: string[] = []) {
    server = await startOpenAIServer({ plan: PLAN, ...options });
    const out = join(directory, "report.md");
    const result = await runCli(
      ["How tides work", "--out", out, "--model", "local-model", ...args],
      { env: { OPENAI_BASE_URL: server.baseURL }, directory },
    );
    const report = await readFile(out, "utf8").catch(() => "");
    return { ...result, report };
  }

  function expectCleanReport(report: string) {
    expect(headings(report).filter((heading) => heading !== "References")).toEqual(NAMES);
    expect(report).not.toMatch(/<\/?think>|"arguments"|```json/);
  }

  test("a server that enforces the JSON schema (OpenAI): as many requests as ever, no fallback", async () => {
    const result = await run({});
    expect(result.code).toBe(0);
    expectCleanReport(result.report);
    expect(server!.planRequests()).toHaveLength(1);
    expect(server!.sectionRequests()).toHaveLength(3);
    expect(server!.planRequests()[0]!.body.response_format?.type).toBe("json_schema");
  });

  test.each<[ServerQuirk[], number]>([
    // Answers the plan could not be parsed from by the client: one more plan request, then the
    // schema goes in the prompt for the rest of the run.
    [["json-schema-ignored-fenced"], 2],
    [["json-schema-ignored-prose"], 2],
    [["think-before-json"], 2],
    // Parsed or recovered from the first answer: no extra request.
    [["json-in-reasoning-content"], 1],
    [["capitalized-keys"], 1],
    [["wrapped-plan"], 1],
    [["depends-on-names"], 1],
    [["depends-on-positions"], 1],
    [["depends-on-numbers"], 1],
    // A server that rejects json_schema: JSON mode next (and the prompt after LM Studio's refusal).
    [["reject-json-schema-vllm"], 2],
    [["reject-json-schema-llamacpp"], 2],
    [["reject-json-schema-vllm", "reject-json-object-lmstudio"], 3],
  ])("plan: %j gives a complete report in plan order (%d plan requests)", async (quirks, plans) => {
    const result = await run({ quirks });
    expect(result.stderr).not.toMatch(/^error/m);
    expect(result.code).toBe(0);
    expectCleanReport(result.report);
    expect(server!.planRequests()).toHaveLength(plans);
    // The summary was written after the sections it depends on, with their text.
    const summary = server!.sectionRequests().find((request) => request.sectionName === "Summary")!;
    expect(summary.prompt).toContain("## Moon");
  });

  test("a server that ignores json_schema and a model that answers a numbered Markdown list: the plan is read from the list, with a warning", async () => {
    const planText = [
      "<think>\nThe user wants a plan for tides. I will list three sections.\n</think>",
      "",
      "Here is a plan for the report:",
      "",
      "1. **Moon** - The moon's pull.",
      "2. **Sun** - The sun's pull.",
      "3. **Summary** - What both add up to.",
      "",
      "Let me know if you want changes.",
    ].join("\n");
    const result = await run({ planText });
    expect(result.stderr).not.toMatch(/^error|No usable plan/m);
    expect(result.code).toBe(0);
    expectCleanReport(result.report);
    // The JSON schema, ignored; then the schema in the prompt, answered with the list again.
    const plans = server!.planRequests();
    expect(plans.map((request) => request.body.response_format?.type)).toEqual([
      "json_schema",
      undefined,
    ]);
    expect(
      server!
        .sectionRequests()
        .map((request) => request.sectionName)
        .sort(),
    ).toEqual([...NAMES].sort());
    const moon = server!.sectionRequests().find((request) => request.sectionName === "Moon")!;
    expect(moon.prompt).toContain("The moon's pull.");
    expect(
      result.stderr.match(
        /^warning: The plan was read from a Markdown list because the model server returned no JSON \(3 sections/gm,
      ),
    ).toHaveLength(1);
  });

  test("reasoning in section text never reaches the report", async () => {
    const result = await run({ quirks: ["think-in-sections"] });
    expect(result.code).toBe(0);
    expectCleanReport(result.report);
    expect(result.report).toContain('Text of section "Moon"');
  });

  describe("workers with tools (--sources)", () => {
    async function withSources(quirks: ServerQuirk[]) {
      const sources = join(directory, "docs");
      await mkdir(sources);
      await writeFile(join(sources, "tides.md"), "# Tides\n\nThe moon and the sun pull the sea.\n");
      return run({ quirks }, ["--sources", sources]);
    }

    test.each<[ServerQuirk[]]>([
      [["tool-call-as-content"]],
      [["tool-arguments-as-object"]],
      [["no-tools-ollama"]],
      [["no-tools-vllm"]],
      [["no-tools-llamacpp"]],
    ])("%j: every section written, citing its sources", async (quirks) => {
      const result = await withSources(quirks);
      expect(result.stderr).not.toMatch(/^error/m);
      // The exit code with what the CLI said, so a failure shows why.
      expect({ code: result.code, stderr: result.stderr }).toEqual({
        code: 0,
        stderr: result.stderr,
      });
      expectCleanReport(result.report);
      expect(result.report).toMatch(/## References\n\n1\. tides\.md, lines/);
      expect(result.report).toMatch(/\[1\]/);
      if (quirks[0]!.startsWith("no-tools")) {
        expect(result.stderr.match(/warning: The model server refused tool calls/g)).toHaveLength(
          1,
        );
      }
    });
  });

  test("synthesis llm: an aggregator that fails costs no section, the report is joined, exit 0", async () => {
    const result = await run(
      {
        respond: (request) =>
          request.kind === "synthesis"
            ? { status: 404, body: { error: "model 'local-model' not found" } }
            : undefined,
      },
      ["--synthesis", "llm"],
    );
    expect(result.code).toBe(0);
    expectCleanReport(result.report);
    expect(result.stderr).toMatch(/warning: The aggregator failed \(.*not found.*\)/);
  });

  test("--aggregator-model sets the aggregator alone; --model sets it too", async () => {
    const result = await run({}, ["--synthesis", "llm", "--aggregator-model", "editor-model"]);
    expect(result.code).toBe(0);
    const synthesis = server!.requests.filter((request) => request.kind === "synthesis");
    expect(synthesis.map((request) => request.body.model)).toEqual(["editor-model"]);
    const sections = server!.sectionRequests().map((request) => request.body.model);
    expect(new Set(sections)).toEqual(new Set(["local-model"]));
  });

  test.each<[ServerQuirk, RegExp]>([
    ["empty-choices", /no choices \(an empty "choices" list\)/],
    ["null-content", /returned no text .*an empty answer with finish_reason "stop"/],
    ["length-cut", /cut off at the output limit .*raise maxOutputTokens \(--max-output-tokens\)/],
  ])("%s: the other sections are written, exit 1, the cause named", async (quirk, cause) => {
    const result = await run({
      respond: undefined,
      quirks: [quirk],
      plan: defaultPlan(3),
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(cause);
    expect(result.report).not.toBe("");
  });

  test("an error body in vLLM's flat style shows its message, not '(no body)'", async () => {
    const result = await run({
      respond: (request) =>
        request.kind === "section"
          ? {
              status: 400,
              body: {
                object: "error",
                message: "This model's maximum context length is 2048 tokens",
                type: "BadRequestError",
                param: null,
                code: 400,
              },
            }
          : undefined,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/maximum context length is 2048 tokens/);
    expect(result.stderr).not.toMatch(/no body/);
  });

  test("a server that reports no usage: the ledger says so, never 0 tokens or $0", async () => {
    const result = await run({ quirks: ["no-usage"] });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(
      /^Tokens: usage not reported by the server \(local-model\); estimated cost unknown/m,
    );
    expect(result.report).not.toMatch(/\$0\.0000/);
  });

  test.each([1, 2])(
    "--max-concurrency %d writes every section, at most that many requests at once",
    async (bound) => {
      const result = await run({ plan: defaultPlan(5), latencyMs: 30 }, [
        "--max-concurrency",
        String(bound),
      ]);
      expect(result.code).toBe(0);
      expect(headings(result.report)).toHaveLength(5);
      expect(server!.sectionRequests()).toHaveLength(5);
      expect(server!.maxInFlight()).toBeLessThanOrEqual(bound);
    },
  );
});
