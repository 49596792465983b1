import { randomUUID } from "node:crypto";
import type { RunnableConfig } from "@langchain/core/runnables";
import { emptyCheckpoint, type PendingWrite } from "@langchain/langgraph-checkpoint";
import { PostgresSaver } from "@langchain/langgraph-checkpoint-postgres";
import { withOneStatementWrites } from "../../src/cli/postgres-writes.js";
import { openRunStore } from "../../src/cli/run-store.js";
import { ScriptedChatModel, defaultPlan } from "../../src/testing/index.js";
import { buildGraph } from "../../src/graph/graph.js";
import { POSTGRES_URL, createDatabase, pg, type PgPool } from "../helpers/postgres.js";

/**
 * The run store's PostgreSQL saver (src/cli/postgres-writes.ts) stores the writes of the tasks that
 * finish together in one statement. Against a real server, on a database the test creates and
 * drops: what it stores reads back exactly as the stock saver's writes do, the conflict rules are
 * the saver's, a write that cannot be stored fails only its own task, and many tasks take fewer
 * statements than tasks.
 */

(POSTGRES_URL ? describe : describe.skip)("PostgreSQL writes in one statement", () => {
  let database: Awaited<ReturnType<typeof createDatabase>>;
  let url: string;
  let pool: PgPool;
  let statements = 0;
  let ours: PostgresSaver;
  let stock: PostgresSaver;

  beforeAll(async () => {
    database = await createDatabase("ow_writes");
    url = database.url;
    pool = new pg.Pool({ connectionString: url });
    // Dropping the database at the end cuts the idle connections: not the test's failure.
    pool.on("error", () => undefined);
    const counted = {
      query: (text: string, values?: unknown[]) => {
        if (text.startsWith("INSERT INTO")) statements += 1;
        return pool.query(text, values);
      },
    };
    ours = new (withOneStatementWrites(PostgresSaver, counted))(pool);
    stock = new PostgresSaver(pool);
    await stock.setup();
  });
  afterAll(async () => {
    await pool?.end();
    await database?.drop();
  });

  /** A checkpoint on a new thread of `saver`, and its config for writes. */
  async function checkpointOn(saver: PostgresSaver): Promise<RunnableConfig> {
    const config = { configurable: { thread_id: randomUUID(), checkpoint_ns: "" } };
    return saver.put(config, emptyCheckpoint(), { source: "loop", step: 0, parents: {} }, {});
  }

  const tasks: [string, PendingWrite[]][] = Array.from({ length: 30 }, (_, index) => [
    `00000000-0000-4000-8000-${String(index).padStart(12, "0")}`,
    [
      ["completedSections", [{ id: `s${index}`, content: `Text ${index} ü \u{1F30A}` }]],
      ["modelCalls", [{ role: "writer", inputTokens: index }]],
      ["warnings", []],
    ],
  ]);

  test("what it stores for tasks finishing together reads back as the stock saver's writes, in fewer statements than tasks", async () => {
    const [oursConfig, stockConfig] = await Promise.all([checkpointOn(ours), checkpointOn(stock)]);
    statements = 0;
    await Promise.all(tasks.map(([taskId, writes]) => ours.putWrites(oursConfig, writes, taskId)));
    const batched = statements;
    for (const [taskId, writes] of tasks) await stock.putWrites(stockConfig, writes, taskId);

    const read = async (saver: PostgresSaver, config: RunnableConfig) =>
      (await saver.getTuple(config))!.pendingWrites;
    const oursWrites = await read(ours, oursConfig);
    expect(oursWrites).toHaveLength(90);
    expect(oursWrites).toEqual(await read(stock, stockConfig));
    // One statement a task unbatched (the stock saver: five round trips a task).
    expect(batched).toBeLessThan(tasks.length);
  });

  test("a second write of a task keeps the first, except to a special channel, which replaces it", async () => {
    const config = await checkpointOn(ours);
    const taskId = randomUUID();
    await ours.putWrites(config, [["completedSections", ["first"]]], taskId);
    await ours.putWrites(config, [["completedSections", ["second"]]], taskId);
    await Promise.all([
      ours.putWrites(config, [["__error__", "one"]], taskId),
      ours.putWrites(config, [["__error__", "two"]], taskId),
    ]);
    const writes = (await ours.getTuple(config))!.pendingWrites!;
    expect(writes.filter(([, channel]) => channel === "completedSections")).toEqual([
      [taskId, "completedSections", ["first"]],
    ]);
    expect(writes.filter(([, channel]) => channel === "__error__")).toEqual([
      [taskId, "__error__", "two"],
    ]);
  });

  test("special writes of different threads or checkpoints with the same task id are all stored", async () => {
    // Threads resuming at once all write for LangGraph's all-zero task id (a review finding: only
    // the last thread's row was kept when the key left out the thread and the checkpoint).
    const nullTask = "00000000-0000-0000-0000-000000000000";
    const [warm, one, two] = await Promise.all([0, 1, 2].map(() => checkpointOn(ours)));
    // The first write goes out alone; the two after it wait for it, and go in one statement.
    await Promise.all([
      ours.putWrites(warm!, [["completedSections", ["x"]]], randomUUID()),
      ours.putWrites(one!, [["__resume__", "one"]], nullTask),
      ours.putWrites(two!, [["__resume__", "two"]], nullTask),
    ]);
    expect((await ours.getTuple(one!))!.pendingWrites).toEqual([[nullTask, "__resume__", "one"]]);
    expect((await ours.getTuple(two!))!.pendingWrites).toEqual([[nullTask, "__resume__", "two"]]);
  });

  test("one task with more writes than a statement may carry is stored whole", async () => {
    // A node that sends thousands of tasks: 9,000 rows of 8 parameters pass PostgreSQL's 65,535.
    const config = await checkpointOn(ours);
    const sends = Array.from({ length: 9000 }, (_, index): PendingWrite => [
      "__pregel_tasks",
      { index },
    ]);
    await ours.putWrites(config, sends, randomUUID());
    expect((await ours.getTuple(config))!.pendingWrites).toHaveLength(9000);
  });

  test("a write that cannot be stored fails only its own task, not the others sent with it", async () => {
    const config = await checkpointOn(ours);
    // PostgreSQL text cannot hold a NUL character: that task's rows are refused.
    const bad = { configurable: { ...config.configurable, checkpoint_ns: "bad\u0000ns" } };
    const results = await Promise.allSettled([
      ...tasks.slice(0, 5).map(([taskId, writes]) => ours.putWrites(config, writes, taskId)),
      ours.putWrites(bad, [["completedSections", ["x"]]], randomUUID()),
      ...tasks.slice(5, 10).map(([taskId, writes]) => ours.putWrites(config, writes, taskId)),
    ]);
    expect(results.map((result) => result.status)).toEqual([
      ...Array(5).fill("fulfilled"),
      "rejected",
      ...Array(5).fill("fulfilled"),
    ]);
    expect((await ours.getTuple(config))!.pendingWrites).toHaveLength(30);
  });

  test("a thread re-run on the run store writes only the sections that failed", async () => {
    const store = await openRunStore({
      sqlitePath: "/nonexistent/unused.sqlite",
      postgresUrl: url,
    });
    try {
      const plan = defaultPlan(12);
      const config = { configurable: { thread_id: randomUUID(), maxSections: 12 } };
      const failing = new ScriptedChatModel({ plan, failSections: ["Part 5", "Part 12"] });
      const first = await buildGraph({ model: failing, checkpointer: store.checkpointer }).invoke(
        { topic: "Tides" },
        config,
      );
      expect(first.completedSections).toHaveLength(10);
      const healthy = new ScriptedChatModel({ plan });
      const second = await buildGraph({ model: healthy, checkpointer: store.checkpointer }).invoke(
        { topic: "Tides" },
        config,
      );
      expect(healthy.writeCalls.map((call) => /Part \d+/.exec(call.prompt)?.[0]).sort()).toEqual([
        "Part 12",
        "Part 5",
      ]);
      expect(second.completedSections).toHaveLength(12);
    } finally {
      await store.close();
    }
  });
});
