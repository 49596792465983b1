/**
 * Usage numbers a server makes up (issue 23): the CLI, through the real ChatOpenAI client, against
 * a local server whose answers carry `usage` that is no count. The run ends with a report; the
 * made-up numbers are "not reported", never fatal, never stored or added up.
 */
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  defaultPlan,
  startOpenAIServer,
  type OpenAIServer,
  type RecordedRequest,
  type ServerReply,
} from "../../src/testing/index.js";
import { headings } from "../helpers/report.js";
import { completionReply } from "../helpers/replies.js";
import { runCli } from "../helpers/run-cli.js";

const PLAN = defaultPlan(2);

/** A completion of `request` (the plan, or a section's text) with `usage` as given. */
function answer(request: RecordedRequest, usage: unknown): ServerReply {
  const content =
    request.kind === "plan"
      ? JSON.stringify({ sections: PLAN })
      : `Text of section "${request.sectionName}".`;
  return completionReply(request, content, usage);
}

describe("usage a server makes up", () => {
  let server: OpenAIServer | undefined;
  let directory: string;
  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), "hostile-usage-"));
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function run(usageOf: (request: RecordedRequest) => unknown) {
    server = await startOpenAIServer({
      plan: PLAN,
      respond: (request) =>
        request.kind === "plan" || request.kind === "section"
          ? answer(request, usageOf(request))
          : undefined,
    });
    const out = join(directory, "report.md");
    const result = await runCli(["How tides work", "--out", out], {
      env: { OPENAI_BASE_URL: server.baseURL, OPENAI_API_KEY: "sk-test" },
      directory,
    });
    return { ...result, report: await readFile(out, "utf8").catch(() => "") };
  }

  test.each<[string, unknown]>([
    ["1e308", 1e308],
    ['"NaN"', "NaN"],
    ["a negative count", -5_000_000],
    ["a fraction", 12.5],
    ["over Number.MAX_SAFE_INTEGER", 2 ** 60],
  ])(
    "usage of %s on every answer: a report, usage not reported, no cost",
    async (_what, bad) => {
      const result = await run(() => ({
        prompt_tokens: bad,
        completion_tokens: bad,
        total_tokens: bad,
      }));
      expect(result.stderr).not.toMatch(/ZodError|TypeError/);
      expect(result.code).toBe(0);
      expect(headings(result.report)).toEqual(PLAN.map((section) => section.name));
      expect(result.report).toContain(
        "_Tokens: usage not reported by the server (gpt-4.1-mini); estimated cost unknown._",
      );
      expect(result.report).not.toMatch(/\$-|\s-\d/);
    },
    60_000,
  );

  test("made-up usage on the sections only: the planner's counts are kept, the sections' left out", async () => {
    const result = await run((request) =>
      request.kind === "plan"
        ? { prompt_tokens: 100, completion_tokens: 20, total_tokens: 120 }
        : { prompt_tokens: -1e6, completion_tokens: "NaN", total_tokens: 1e308 },
    );
    expect(result.code).toBe(0);
    expect(headings(result.report)).toEqual(PLAN.map((section) => section.name));
    expect(result.report).toContain(
      "_Tokens: 100 in, 20 out, 120 in all (usage not reported by the server for some calls of gpt-4.1-mini: not counted); estimated cost unknown._",
    );
  }, 60_000);
});
