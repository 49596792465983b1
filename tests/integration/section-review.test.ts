import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promptBlocks } from "../../src/schemas/prompts.js";
import { defaultPlan, startOpenAIServer, type OpenAIServer } from "../../src/testing/index.js";
import { runCli } from "../helpers/run-cli.js";

/** Section review through the CLI: the real ChatOpenAI client, the reviewer scripted on the server. */
describe("section review (CLI, --review-sections)", () => {
  let directory: string;
  let server: OpenAIServer | undefined;
  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), "section-review-"));
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  test("each first draft is sent back once with feedback and the revision passes: two reviews and two writes per section", async () => {
    server = await startOpenAIServer({
      plan: defaultPlan(3),
      respond: (request) => {
        if (request.kind === "review") {
          const revision = Number(promptBlocks(request.prompt).get("Revision"));
          const name = promptBlocks(request.prompt).get("Section name");
          return {
            content: JSON.stringify(
              revision === 0
                ? { pass: false, feedback: `Give ${name} an example.`, followUpQueries: [] }
                : { pass: true, feedback: "", followUpQueries: [] },
            ),
          };
        }
        if (request.kind === "section" && request.prompt.includes("<Reviewer feedback>")) {
          return { content: `Revised ${request.sectionName}, with an example.` };
        }
        return undefined;
      },
    });
    const out = join(directory, "report.md");
    const result = await runCli(
      ["How tides work", "--out", out, "--model", "local", "--review-sections", "1"],
      { env: { OPENAI_BASE_URL: server.baseURL }, directory },
    );
    expect(result.code).toBe(0);
    const reviews = server.requests.filter((request) => request.kind === "review");
    expect(reviews).toHaveLength(6);
    expect(server.sectionRequests()).toHaveLength(6);
    const revisions = server
      .sectionRequests()
      .filter((request) => request.prompt.includes("<Reviewer feedback>"));
    expect(revisions.map((request) => request.sectionName).sort()).toEqual([
      "Part 1",
      "Part 2",
      "Part 3",
    ]);
    for (const request of revisions) {
      expect(request.prompt).toContain(`Give ${request.sectionName} an example.`);
      expect(request.prompt).toContain(`<Draft>\nText of section "${request.sectionName}".`);
    }
    const report = await readFile(out, "utf8");
    for (const name of ["Part 1", "Part 2", "Part 3"]) {
      expect(report).toContain(`## ${name}\n\nRevised ${name}, with an example.`);
    }
    expect(result.stderr).toMatch(
      /^review: Part 2 \(first draft\) failed: Give Part 2 an example\.$/m,
    );
    expect(result.stderr).toMatch(/^review: Part 2 \(revision 1\) passed$/m);
    // Every call is billed: the CLI's total is the sum of what the server reported.
    const total = server.requests.reduce(
      (sum, request) => sum + (request.usage?.total_tokens ?? 0),
      0,
    );
    expect(result.stderr).toContain(`${total.toLocaleString("en-US")} in all`);
  });

  test("offline, --review-sections shows the loop with no model server", async () => {
    const out = join(directory, "report.md");
    const result = await runCli(["How tides work", "--out", out, "--review-sections"], {
      directory,
    });
    expect(result.code).toBe(0);
    expect(
      result.stderr.match(/^review: .* \(first draft\) failed: Offline placeholder review/gm),
    ).toHaveLength(5);
    expect(result.stderr.match(/^review: .* \(revision 1\) passed$/gm)).toHaveLength(5);
  });

  test("--review-sections with a topic after it is refused with what to do, before any call", async () => {
    const result = await runCli(["--review-sections", "How tides work"], { directory });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/put the topic first/);
  });
});
