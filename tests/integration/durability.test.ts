import { mkdtemp, readFile, readdir } from "node:fs/promises";
import { headings } from "../helpers/report.js";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { startOpenAIServer, type OpenAIServer } from "../../src/testing/index.js";
import { defaultPlan } from "../../src/testing/index.js";
import { runCli, startCli } from "../helpers/run-cli.js";

const API_KEY = "sk-durability-SECRET-77";
const POSTGRES_URL = process.env.POSTGRES_URL ?? process.env.DATABASE_URL;

/** Names of the sections the CLI reported done in `stderr`. */
function doneSections(stderr: string): string[] {
  return [...stderr.matchAll(/\] done: (.*)$/gm)].map((match) => match[1]!);
}

/**
 * Starts a run, SIGKILLs it once two sections are done, then finishes the same thread in a second
 * process. Returns what a test needs to check that nothing finished was asked for again.
 */
async function killAndResume(directory: string, env: Record<string, string>) {
  const thread = `kill-${randomUUID()}`;
  const out = join(directory, "report.md");
  const args = ["Tides", "--thread", thread, "--out", out, "--max-concurrency", "2"];
  const first = startCli(args, { env, directory });
  await first.waitForStderr(/\[2\/6\] done: /);
  first.child.kill("SIGKILL");
  const killed = await first.result;
  expect(killed.signal).toBe("SIGKILL");
  const doneBeforeKill = doneSections(killed.stderr);
  expect(doneBeforeKill.length).toBeGreaterThanOrEqual(2);
  expect(doneBeforeKill.length).toBeLessThan(6);
  await expect(readFile(out, "utf8")).rejects.toThrow();

  const second = await runCli(args, { env, directory });
  return { killed, second, doneBeforeKill, out, thread };
}

describe("durable runs: a killed CLI run is finished by another process", () => {
  let server: OpenAIServer;
  let directory: string;
  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), "report-durable-"));
    server = await startOpenAIServer({
      plan: defaultPlan(6),
      latencyMs: (request) => (request.kind === "plan" ? 0 : 400),
    });
  });
  afterEach(async () => server.close());

  function checkResumed(result: Awaited<ReturnType<typeof killAndResume>>) {
    expect(result.second.stderr).toMatch(/Resuming kill-/);
    // The resumed run counts on from what the killed one had finished.
    expect(result.second.stderr).toContain(`[${result.doneBeforeKill.length + 1}/6] done: `);
    expect(result.second.stderr).toContain("[6/6] done: ");
    expect(result.second.code).toBe(0);
    expect(server.planRequests()).toHaveLength(1);
    for (const name of result.doneBeforeKill) {
      expect([
        name,
        server.sectionRequests().filter((request) => request.sectionName === name).length,
      ]).toEqual([name, 1]);
    }
    // The second process wrote only what the first had not finished.
    expect(doneSections(result.second.stderr).sort()).toEqual(
      defaultPlan(6)
        .map((section) => section.name)
        .filter((name) => !result.doneBeforeKill.includes(name))
        .sort(),
    );
  }

  test("with the embedded SQLite checkpointer", async () => {
    const result = await killAndResume(directory, {
      OPENAI_BASE_URL: server.baseURL,
      OPENAI_API_KEY: API_KEY,
    });
    checkResumed(result);
    const report = await readFile(result.out, "utf8");
    expect(headings(report)).toEqual(defaultPlan(6).map((section) => section.name));

    // The API key is in no stored checkpoint and no output.
    const storeDirectory = join(directory, ".orchestrator-workers");
    for (const file of await readdir(storeDirectory)) {
      expect((await readFile(join(storeDirectory, file))).includes(API_KEY)).toBe(false);
    }
    for (const text of [result.killed.stderr, result.second.stderr, result.second.stdout, report]) {
      expect(text).not.toContain(API_KEY);
    }
  }, 30_000);

  (POSTGRES_URL ? test : test.skip)(
    "with PostgreSQL (POSTGRES_URL), across two processes",
    async () => {
      const result = await killAndResume(directory, {
        OPENAI_BASE_URL: server.baseURL,
        POSTGRES_URL: POSTGRES_URL!,
      });
      checkResumed(result);
      expect(result.second.stderr).toMatch(/stored in postgres/);
      expect(headings(await readFile(result.out, "utf8"))).toEqual(
        defaultPlan(6).map((section) => section.name),
      );
      // Nothing went to the SQLite file.
      expect(await readdir(directory)).toEqual(["report.md"]);
    },
    30_000,
  );
});

if (!POSTGRES_URL) {
  console.warn("Skipping the PostgreSQL durability test: set POSTGRES_URL (CI sets it) to run it.");
}
