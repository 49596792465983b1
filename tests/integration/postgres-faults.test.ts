import { randomUUID } from "node:crypto";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openRunStore } from "../../src/cli/run-store.js";
import { defaultPlan, startOpenAIServer, type OpenAIServer } from "../../src/testing/index.js";
import { POSTGRES_URL, admin, createDatabase } from "../helpers/postgres.js";
import { headings } from "../helpers/report.js";
import { runCli, startCli, type CliResult, type RunningCli } from "../helpers/run-cli.js";

/**
 * PostgreSQL faults (issue 12, item 4), each on a database the test creates and drops: a
 * connection terminated mid-run never crashes the CLI with an unhandled 'error' event (the run goes
 * on, or stops with one line and the resume hint), and several processes setting up a fresh
 * database at once do not race on its migrations.
 */

const SECTIONS = 6;
const PLAN = defaultPlan(SECTIONS);
const names = PLAN.map((section) => section.name);

/** Terminates every connection to database `name` but the caller's: how many it cut. */
function terminateBackends(name: string): Promise<number> {
  return admin(async (client) => {
    const { rows } = await client.query(
      "SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
      [name],
    );
    return rows.filter((row) => row.terminated === true).length;
  });
}

/** How many advisory locks are held in database `name` (a thread lease is one). */
function advisoryLocks(name: string): Promise<number> {
  return admin(async (client) => {
    const { rows } = await client.query(
      "SELECT count(*)::int AS locks FROM pg_locks JOIN pg_database ON pg_database.oid = pg_locks.database WHERE locktype = 'advisory' AND granted AND datname = $1",
      [name],
    );
    return rows[0]!.locks as number;
  });
}

function doneSections(stderr: string): string[] {
  return [...stderr.matchAll(/\] done: (.*)$/gm)].map((match) => match[1]!);
}

/** What a crash would print: Node's unhandled 'error' event, or any stack frame. */
function expectNoCrash(result: CliResult) {
  expect(result.stderr).not.toContain("Unhandled 'error' event");
  expect(result.stderr).not.toMatch(/^\s+at /m);
  expect(result.signal ?? null).toBeNull();
}

/** Resolves once stderr matches `pattern`, or once the process ended anyway. */
function stderrOrEnd(cli: RunningCli, pattern: RegExp): Promise<unknown> {
  return Promise.race([cli.waitForStderr(pattern).catch(() => undefined), cli.result]);
}

(POSTGRES_URL ? describe : describe.skip)("PostgreSQL faults", () => {
  // "connections terminated mid-run" failed once in five fresh-clone CI runs (exit 1, cause not
  // yet known, not reproduced in 10 runs since): one retry, with the first failure and the CLI's
  // stderr logged, until the reconnection path behind it is found.
  // Native ES modules get Jest's object from import.meta, not as a global.
  (import.meta as unknown as { jest: typeof jest }).jest.retryTimes(1, {
    logErrorsBeforeRetry: true,
  });
  let server: OpenAIServer;
  let directory: string;
  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), "report-pg-faults-"));
    server = await startOpenAIServer({
      plan: PLAN,
      latencyMs: (request) => (request.kind === "plan" ? 0 : 700),
    });
  });
  afterEach(async () => server.close());

  function expectEachSectionPaidOnce() {
    expect(server.planRequests()).toHaveLength(1);
    expect(
      names.map(
        (name) => server.sectionRequests().filter((request) => request.sectionName === name).length,
      ),
    ).toEqual(names.map(() => 1));
  }

  test("connections terminated mid-run: the run goes on, and a re-run pays for nothing again", async () => {
    const database = await createDatabase("ow_faults_drop");
    try {
      const thread = `dropped-${randomUUID()}`;
      const out = join(directory, "report.md");
      const args = ["Tides", "--thread", thread, "--out", out, "--max-concurrency", "2"];
      const env = { OPENAI_BASE_URL: server.baseURL, POSTGRES_URL: database.url };
      const running = startCli(args, { env, directory });
      await running.waitForStderr(/\[1\/6\] done: /);
      // Every connection of the run: the pool's idle ones and the one holding the thread's lock.
      expect(await terminateBackends(database.name)).toBeGreaterThanOrEqual(2);
      await stderrOrEnd(running, /\[3\/6\] done: /);
      // The write that stored a section since took the thread's lock again on a new connection.
      if (running.child.exitCode === null) expect(await advisoryLocks(database.name)).toBe(1);
      await terminateBackends(database.name);
      const result = await running.result;

      expectNoCrash(result);
      // The CLI's stderr goes with the exit code, so a failure here says why the run stopped.
      expect({ code: result.code, stderr: result.stderr }).toEqual({
        code: 0,
        stderr: expect.any(String),
      });
      expect(doneSections(result.stderr).sort()).toEqual([...names].sort());
      expect(headings(await readFile(out, "utf8"))).toEqual(names);
      expectEachSectionPaidOnce();

      // The thread is whole: the same command rebuilds the report with no model call.
      const again = await runCli([...args, "--force"], { env, directory });
      expectNoCrash(again);
      expect(again.code).toBe(0);
      expect(again.stderr).toMatch(/^Re-running dropped-/m);
      expectEachSectionPaidOnce();
    } finally {
      await database.drop();
    }
  }, 90_000);

  test("a database that stops taking connections mid-run: one line, the resume hint, exit 1", async () => {
    const database = await createDatabase("ow_faults_down");
    try {
      const thread = `down-${randomUUID()}`;
      const out = join(directory, "report.md");
      const args = ["Tides", "--thread", thread, "--out", out, "--max-concurrency", "1"];
      const env = { OPENAI_BASE_URL: server.baseURL, POSTGRES_URL: database.url };
      const running = startCli(args, { env, directory });
      await running.waitForStderr(/\[2\/6\] done: /);
      await admin((client) =>
        client.query(`ALTER DATABASE ${database.name} WITH ALLOW_CONNECTIONS false`),
      );
      await terminateBackends(database.name);
      const stopped = await running.result;

      expectNoCrash(stopped);
      expect(stopped.code).toBe(1);
      const errors = stopped.stderr.split("\n").filter((line) => line.startsWith("error"));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(
        new RegExp(
          `^error: Could not (write to|read) the run store \\(postgresql://postgres@[^)]*/${database.name}\\): .*Finished sections are saved: run again with --thread ${thread} to resume\\.$`,
        ),
      );
      const doneBeforeStop = doneSections(stopped.stderr);
      expect(doneBeforeStop.length).toBeGreaterThanOrEqual(2);
      await expect(readFile(out, "utf8")).rejects.toThrow();

      // The database is back: the advice works as printed, and nothing reported done is paid again.
      await admin((client) =>
        client.query(`ALTER DATABASE ${database.name} WITH ALLOW_CONNECTIONS true`),
      );
      const resumed = await runCli(args, { env, directory });
      expectNoCrash(resumed);
      expect(resumed.code).toBe(0);
      expect(resumed.stderr).toMatch(/^Resuming down-/m);
      expect(headings(await readFile(out, "utf8"))).toEqual(names);
      expect(server.planRequests()).toHaveLength(1);
      for (const name of doneBeforeStop) {
        expect([
          name,
          server.sectionRequests().filter((request) => request.sectionName === name).length,
        ]).toEqual([name, 1]);
      }
    } finally {
      await database.drop();
    }
  }, 90_000);

  test("a database that takes no connections at the start: one line, exit 1, no model request", async () => {
    const database = await createDatabase("ow_faults_closed");
    try {
      await admin((client) =>
        client.query(`ALTER DATABASE ${database.name} WITH ALLOW_CONNECTIONS false`),
      );
      const env = { OPENAI_BASE_URL: server.baseURL, POSTGRES_URL: database.url };
      const out = join(directory, "report.md");
      const result = await runCli(["Tides", "--out", out], { env, directory });
      expectNoCrash(result);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(
        new RegExp(
          `^error: Could not set up the run store \\(postgresql://postgres@[^)]*/${database.name}\\): database "${database.name}" is not currently accepting connections\\.\n$`,
        ),
      );
      expect(server.requests).toHaveLength(0);
      await expect(readFile(out, "utf8")).rejects.toThrow();
    } finally {
      await database.drop();
    }
  }, 60_000);

  test("three stores opened at once on a fresh database set it up without a race", async () => {
    // Unserialised, LangGraph's `PostgresSaver.setup()` fails here most of the time with
    // `duplicate key ... checkpoint_migrations_pkey` or `... pg_type_typname_nsp_index`.
    for (let round = 0; round < 5; round += 1) {
      const database = await createDatabase("ow_faults_setup");
      try {
        const stores = await Promise.all(
          [1, 2, 3].map(() => openRunStore({ postgresUrl: database.url, sqlitePath: "unused" })),
        );
        await Promise.all(stores.map((store) => store.close()));
        const { rows } = await admin(
          (client) => client.query("SELECT v FROM checkpoint_migrations ORDER BY v"),
          database.url,
        );
        expect(rows.map((row) => row.v)).toEqual([0, 1, 2, 3, 4]);
      } finally {
        await database.drop();
      }
    }
  }, 60_000);

  test("three CLI processes starting at once on a fresh database all finish", async () => {
    const database = await createDatabase("ow_faults_first_use");
    try {
      const env = { OPENAI_BASE_URL: server.baseURL, POSTGRES_URL: database.url };
      const results = await Promise.all(
        [1, 2, 3].map((index) =>
          runCli(["Tides", "--out", join(directory, `report-${index}.md`)], { env, directory }),
        ),
      );
      for (const result of results) {
        expectNoCrash(result);
        expect([result.code, result.stderr]).toEqual([0, expect.any(String)]);
      }
      expect(server.planRequests()).toHaveLength(3);
    } finally {
      await database.drop();
    }
  }, 90_000);
});

if (!POSTGRES_URL) {
  console.warn("Skipping the PostgreSQL fault tests: set POSTGRES_URL (CI sets it) to run them.");
}
