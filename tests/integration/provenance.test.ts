import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  startOpenAIServer,
  type OpenAIServer,
  type RecordedRequest,
  type ServerReply,
} from "../../src/testing/index.js";
import { runCli } from "../helpers/run-cli.js";

/**
 * Provenance and checked citations through the CLI, with the real ChatOpenAI client against the
 * local server: the writers search `--sources` (the real sources tool), and the server scripts what
 * they write with what they found.
 */
describe("provenance and checked citations (CLI, --sources)", () => {
  let directory: string;
  let server: OpenAIServer | undefined;
  const plan = [
    { name: "The Moon", description: "How the moon raises tides." },
    { name: "The Sun", description: "How the sun changes them." },
  ];

  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), "provenance-"));
    const docs = join(directory, "docs");
    await mkdir(docs);
    await writeFile(
      join(docs, "moon.md"),
      "# Moon\n\nThe moon's gravity pulls the oceans into two bulges.\n",
    );
    await writeFile(
      join(docs, "sun.md"),
      "# Sun\n\nThe sun's pull adds to the moon's at spring tides.\n",
    );
    await writeFile(
      join(docs, "coasts.md"),
      "# Coasts\n\nCoastlines shape how high tides rise in bays.\n",
    );
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  /** The keys a section request's tool results held, in the order the writer got them. */
  const keysGiven = (request: RecordedRequest) =>
    request.toolResults.flatMap((result) =>
      (JSON.parse(result) as { results: { key: string }[] }).results.map((item) => item.key),
    );

  /** Every section searches once ("tides moon sun coasts" finds all three files), then writes. */
  function scripted(write: (request: RecordedRequest) => string, verify?: () => ServerReply) {
    return (request: RecordedRequest): ServerReply | undefined => {
      if (request.kind === "verification") return verify?.();
      if (request.kind !== "section") return undefined;
      if (request.toolResults.length === 0) {
        return {
          toolCall: {
            name: "search_sources",
            arguments: JSON.stringify({ query: "moon sun coasts tides" }),
          },
        };
      }
      return { content: write(request) };
    };
  }

  async function run(extra: string[] = []) {
    const out = join(directory, "report.md");
    const result = await runCli(
      ["How tides work", "--sources", "docs", "--out", out, "--model", "local", ...extra],
      { env: { OPENAI_BASE_URL: server!.baseURL }, directory },
    );
    return { result, report: result.code === 2 ? "" : await readFile(out, "utf8") };
  }

  test("a writer that reads sources and never cites them: every source it read is listed as consulted", async () => {
    server = await startOpenAIServer({
      plan,
      respond: scripted((request) => `What ${request.sectionName} does, with no citation at all.`),
    });
    const { result, report } = await run();
    expect(result.code).toBe(0);
    const read = new Set(server.sectionRequests().flatMap(keysGiven));
    expect(read.size).toBe(3);
    expect(report).not.toMatch(/## References/);
    const consulted = /## Also consulted\n\n((?:- .*\n?)+)/.exec(report)?.[1] ?? "";
    const listed = consulted.trim().split("\n");
    expect(listed).toHaveLength(3);
    for (const key of read) {
      const [path, lines] = key.split(":");
      expect(listed).toContain(`- ${path}, lines ${lines}`);
    }
  });

  test("a writer that cites a key it was never given: no such reference, and a warning", async () => {
    server = await startOpenAIServer({
      plan,
      respond: scripted((request) => {
        const [first] = keysGiven(request);
        return `Tides rise twice a day [docs/almanac.md:1-9]. The moon pulls [${first}].`;
      }),
    });
    const { result, report } = await run();
    expect(result.code).toBe(0);
    expect(report).not.toContain("almanac");
    expect(report).toMatch(/The moon pulls \[1\]\./);
    const references = /## References\n\n((?:\d+\. .*\n?)+)/.exec(report)?.[1]?.trim().split("\n");
    expect(references).toHaveLength(1);
    expect(
      result.stderr.match(/warning: .*\[docs\/almanac\.md:1-9\], which no tool returned/g),
    ).toHaveLength(2);
    // The sources it read but did not cite are still there.
    expect(report).toMatch(/## Also consulted/);
  });

  test("--verify-citations llm: the verifier's verdicts mark the report and give the accuracy", async () => {
    let verifications = 0;
    server = await startOpenAIServer({
      plan,
      respond: scripted(
        (request) => {
          const [first, second] = keysGiven(request);
          return `The moon pulls the oceans [${first}]. The sun has no effect [${second}].`;
        },
        () => {
          verifications += 1;
          return {
            content: JSON.stringify({
              verdicts: [
                { claim: 1, supported: true, reason: "The passage says so." },
                {
                  claim: 2,
                  supported: false,
                  reason: "The passage says the sun adds to the pull.",
                },
              ],
            }),
          };
        },
      ),
    });
    const { result, report } = await run(["--verify-citations", "llm"]);
    expect(result.code).toBe(0);
    expect(verifications).toBe(2);
    // The verifier saw each cited sentence with the passage it cites.
    const verification = server.requests.find((request) => request.kind === "verification")!;
    expect(verification.prompt).toMatch(
      /<Sentence>\nThe sun has no effect \[[^\]]+\]\.\n<\/Sentence>/,
    );
    expect(verification.prompt).toMatch(/<Cited passage key="[^"]+">\n# (Moon|Sun|Coasts)/);
    expect(report.match(/\[\d\]\[\^u\d\]/g)).toHaveLength(2);
    expect(report).toMatch(
      /## Citation check\n\n_2 of 4 checked citations are supported by the passage they cite \(50%\)\._/,
    );
    expect(report).toMatch(
      /^\[\^u1\]: Not supported by source \[\d\]: The passage says the sun adds to the pull\.$/m,
    );
    // The verifier's tokens are in the run's bill: the CLI's total is every request's.
    const total = server.requests.reduce(
      (sum, request) => sum + (request.usage?.total_tokens ?? 0),
      0,
    );
    expect(result.stderr).toContain(`${total.toLocaleString("en-US")} in all`);
  });
});
