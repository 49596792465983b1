import { randomUUID } from "node:crypto";
import { access, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { emptyCheckpoint, type Checkpoint } from "@langchain/langgraph-checkpoint";
import type { Environment } from "../../src/env.js";
import { openRunStore, type RunStore } from "../../src/cli/run-store.js";
import { runRunsCommand } from "../../src/cli/runs.js";
import { POSTGRES_URL, admin } from "../helpers/postgres.js";
import { buildGraph } from "../../src/graph/graph.js";
import { ScriptedChatModel, defaultPlan } from "../../src/testing/index.js";

/**
 * `orchestrator-workers runs` (issue 13, item 3): lists the stored threads with their status,
 * sections, cost, age and topic, and `runs prune --older-than` deletes the old ones, never one that
 * another process is running. Called in-process, on stores that real graph runs wrote.
 */

const DAY_MS = 86_400_000;
const LONG_TOPIC = `Old\u001b[31m topic\nwith a newline and ${"many words ".repeat(12)}`;

/** Runs `runs ARGS` and returns its exit code and output. */
async function runs(argv: string[], environment: Environment, now?: Date) {
  let stdout = "";
  let stderr = "";
  const code = await runRunsCommand(argv, {
    environment,
    io: { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text) },
    ...(now ? { now } : {}),
  });
  return { code, stdout, stderr };
}

/** The table's rows as { thread, status, sections, cost, age, topic }, header checked. */
function rows(stdout: string) {
  const [header, ...lines] = stdout.trimEnd().split("\n");
  expect(header).toMatch(/^THREAD +STATUS +SECTIONS +COST +AGE +TOPIC$/);
  // Aligned: every row's status starts under STATUS, and its age ends under AGE.
  for (const line of lines) {
    expect(line.slice(header!.indexOf("STATUS"))).toMatch(
      /^(complete|failed \d+|under review|unfinished) /,
    );
    expect(line.slice(0, header!.indexOf("AGE") + 3)).toMatch(/\d[smhd]$/);
  }
  return lines.map((line) => {
    const [thread, status, sections, cost, age, ...topic] = line.split(/ {2,}/);
    return { thread, status, sections, cost, age, topic: topic.join("  ") };
  });
}

/** A thread written through the checkpointer's `put`, with `ts` and the given values. */
async function putThread(
  store: RunStore,
  threadId: string,
  ts: Date,
  values: Record<string, unknown>,
): Promise<{ configurable: Record<string, unknown> }> {
  const versions = Object.fromEntries(Object.keys(values).map((key) => [key, 1]));
  const checkpoint: Checkpoint = {
    ...emptyCheckpoint(),
    ts: ts.toISOString(),
    channel_values: values,
    channel_versions: versions,
  };
  return (await store.checkpointer.put(
    { configurable: { thread_id: threadId, checkpoint_ns: "" } },
    checkpoint,
    { source: "input", step: -1, parents: {} },
    versions,
  )) as { configurable: Record<string, unknown> };
}

/**
 * Five threads, oldest first: an old one (40 days, with a cost and a long topic), one cut short
 * with a section in its pending writes, a complete one, one with a failed section, and one waiting
 * for its plan to be reviewed.
 */
async function storeRuns(store: RunStore, now: Date) {
  const sections = defaultPlan(3).map((section, index) => ({
    ...section,
    id: `s${index + 1}`,
    dependsOn: [],
  }));
  const done = (index: number) => ({ ...sections[index]!, content: "Text." });
  await putThread(store, "old-1", new Date(now.getTime() - 40 * DAY_MS), {
    topic: LONG_TOPIC,
    plan: { topic: "Old", sections, status: "writing", source: "planner", round: 1, revisions: 0 },
    completedSections: [done(0), done(1), done(2)],
    failedSections: [],
    report: "# Old\n",
    usage: { estimatedCostUsd: 0.0123 },
  });
  const cut = await putThread(store, "cut-1", new Date(now.getTime() - 2 * DAY_MS), {
    topic: "Cut short",
    plan: { topic: "Cut", sections, status: "writing", source: "planner", round: 1, revisions: 0 },
    completedSections: [done(0)],
    failedSections: [],
  });
  // A worker that finished in the step the run was killed in: stored, not yet in a checkpoint.
  await store.checkpointer.putWrites(cut, [["completedSections", [done(1)]]], "task-s2");

  const run = async (threadId: string, model: ScriptedChatModel, configurable = {}) => {
    const graph = buildGraph({ model, checkpointer: store.checkpointer });
    await graph.invoke(
      { topic: `Topic of ${threadId}` },
      { configurable: { thread_id: threadId, ...configurable } },
    );
  };
  await run("done-1", new ScriptedChatModel());
  await run("failed-1", new ScriptedChatModel({ failSections: ["Part 2"] }));
  await run("review-1", new ScriptedChatModel(), { reviewPlan: true });
}

const EXPECTED_LIST = [
  { thread: "review-1", status: "under review", sections: "0/3", cost: "-" },
  { thread: "failed-1", status: "failed 1", sections: "2/3", cost: "-" },
  { thread: "done-1", status: "complete", sections: "3/3", cost: "-" },
  { thread: "cut-1", status: "unfinished", sections: "2/3", cost: "-", age: "2d" },
  { thread: "old-1", status: "complete", sections: "3/3", cost: "$0.0123", age: "40d" },
];

describe("runs with SQLite", () => {
  let directory: string;
  let environment: Environment;
  let path: string;
  const now = new Date();

  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), "report-runs-"));
    environment = { workingDirectory: directory };
    path = join(directory, "runs.sqlite");
    const store = await openRunStore({ sqlitePath: path });
    try {
      await storeRuns(store, now);
    } finally {
      await store.close();
    }
  });

  test("lists every thread, newest first, with status, sections, cost, age and topic", async () => {
    const result = await runs(["--db", "runs.sqlite"], environment, now);
    expect(result).toMatchObject({ code: 0, stderr: "" });
    const listed = rows(result.stdout);
    expect(listed).toMatchObject(EXPECTED_LIST);
    for (const row of listed.slice(0, 3)) {
      expect(row.age).toMatch(/^\d+s$/);
      expect(row.topic).toBe(`Topic of ${row.thread}`);
    }
    // The topic: one line, control characters gone, cut to about 60 characters.
    const old = listed[4]!.topic;
    expect(old).toMatch(/^Old topic with a newline and many words many words .*…$/);
    expect([...old].length).toBeLessThanOrEqual(60);
    expect(result.stdout).not.toContain("\u001b");

    // Ages count from `now`.
    const later = await runs(
      ["--db", "runs.sqlite"],
      environment,
      new Date(Date.now() + 5 * 3_600_000),
    );
    expect(rows(later.stdout).map((row) => row.age)).toEqual(["5h", "5h", "5h", "2d", "40d"]);
  });

  test("says so when nothing is stored, without creating the file", async () => {
    const result = await runs([], environment);
    const file = join(directory, ".orchestrator-workers", "checkpoints.sqlite");
    expect(result).toEqual({ code: 0, stdout: `No stored runs in ${file}.\n`, stderr: "" });
    await expect(access(file)).rejects.toThrow();
  });

  test("prune deletes the old threads only, and --dry-run deletes nothing", async () => {
    const dry = await runs(
      ["prune", "--older-than", "30d", "--db", path, "--dry-run"],
      environment,
    );
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/^would delete {2}old-1 {2}complete {2}40d {2}Old topic/);
    expect(dry.stdout.trimEnd().split("\n")).toHaveLength(2);
    expect(dry.stdout).toContain("Would delete 1 of 5 stored runs (dry run: nothing was deleted).");
    expect(rows((await runs(["--db", path], environment)).stdout)).toHaveLength(5);

    const pruned = await runs(["prune", "--older-than", "30d", "--db", path], environment);
    expect(pruned).toMatchObject({ code: 0, stderr: "" });
    expect(pruned.stdout).toMatch(/^deleted {2}old-1 /);
    expect(pruned.stdout.trimEnd().split("\n")).toHaveLength(2);
    expect(pruned.stdout).toContain("Deleted 1 of 5 stored runs.");
    const left = rows((await runs(["--db", path], environment)).stdout).map((row) => row.thread);
    expect(left).toEqual(["review-1", "failed-1", "done-1", "cut-1"]);

    // `runs --db FILE prune` works too; 1d now takes the thread cut short 2 days ago.
    const again = await runs(["--db", path, "prune", "--older-than", "1d"], environment);
    expect(again.stdout).toMatch(/^deleted {2}cut-1 /);
    expect(again.stdout).toContain("Deleted 1 of 4 stored runs.");
  });

  test("prune keeps a thread another process is running", async () => {
    const running = await openRunStore({ sqlitePath: path });
    try {
      await running.holdThread("old-1");
      const pruned = await runs(["prune", "--older-than", "30d", "--db", path], environment);
      expect(pruned.code).toBe(0);
      expect(pruned.stderr).toMatch(
        /^note: kept old-1: Thread old-1 is being run by another process \(pid \d+ on /,
      );
      expect(pruned.stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(pruned.stdout).toBe("Deleted 0 of 5 stored runs. Kept 1 old run in use.\n");
    } finally {
      await running.close();
    }
    const pruned = await runs(["prune", "--older-than", "30d", "--db", path], environment);
    expect(pruned.stdout).toContain("Deleted 1 of 5 stored runs.");
  });

  test("bad usage: one line on stderr, exit 2", async () => {
    for (const duration of ["30", "30 days", "1w", "0d", "-5m", "1.5h"]) {
      const result = await runs(["prune", "--older-than", duration, "--db", path], environment);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe("");
      expect(result.stderr).toMatch(
        /^error: --older-than .* is not a duration: give a whole number and a unit, s, m, h or d \(30d, 12h, 90m, 45s\)\.\n$/,
      );
    }
    for (const argv of [["prune"], ["--bogus"], ["list"], ["--db", directory], ["--db", ""]]) {
      const result = await runs(argv, environment);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe("");
      expect(result.stderr).toMatch(/^error: [^\n]+\n$/);
    }
    expect(rows((await runs(["--db", path], environment)).stdout)).toHaveLength(5);
  });

  test("--help describes the command and prune", async () => {
    const help = await runs(["--help"], environment);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Usage: orchestrator-workers runs");
    expect(help.stdout).toContain("prune");
    const pruneHelp = await runs(["prune", "--help"], environment);
    expect(pruneHelp.code).toBe(0);
    expect(pruneHelp.stdout).toContain("--older-than <duration>");
    expect(pruneHelp.stdout).toContain("--dry-run");
  });
});

(POSTGRES_URL ? describe : describe.skip)("runs with PostgreSQL", () => {
  test("lists the threads, and prune deletes the old one unless it is being run", async () => {
    const name = `ow_runs_${process.pid}_${randomUUID().slice(0, 8)}`;
    await admin((client) => client.query(`CREATE DATABASE ${name}`));
    try {
      const url = new URL(POSTGRES_URL!);
      url.pathname = `/${name}`;
      const environment: Environment = {
        workingDirectory: await mkdtemp(join(tmpdir(), "report-runs-pg-")),
        postgresUrl: url.toString(),
      };
      const now = new Date();
      const store = await openRunStore({ postgresUrl: url.toString(), sqlitePath: "" });
      try {
        await storeRuns(store, now);
      } finally {
        await store.close();
      }
      const listed = await runs([], environment, now);
      expect(listed).toMatchObject({ code: 0, stderr: "" });
      expect(rows(listed.stdout)).toMatchObject(EXPECTED_LIST);

      const running = await openRunStore({ postgresUrl: url.toString(), sqlitePath: "" });
      try {
        await running.holdThread("old-1");
        const kept = await runs(["prune", "--older-than", "30d"], environment);
        expect(kept.stderr).toMatch(
          /^note: kept old-1: Thread old-1 is being run by another process/,
        );
        expect(kept.stdout).toBe("Deleted 0 of 5 stored runs. Kept 1 old run in use.\n");
      } finally {
        await running.close();
      }
      const dry = await runs(["prune", "--older-than", "30d", "--dry-run"], environment);
      expect(dry.stdout).toMatch(/^would delete {2}old-1 /);
      const pruned = await runs(["prune", "--older-than", "30d"], environment);
      expect(pruned).toMatchObject({ code: 0, stderr: "" });
      expect(pruned.stdout).toMatch(/^deleted {2}old-1 /);
      expect(pruned.stdout).toContain("Deleted 1 of 5 stored runs.");
      const left = rows((await runs([], environment)).stdout).map((row) => row.thread);
      expect(left).toEqual(["review-1", "failed-1", "done-1", "cut-1"]);
    } finally {
      await admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    }
  });
});
