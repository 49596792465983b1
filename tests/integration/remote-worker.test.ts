/**
 * Workers on another machine: the worker graph (tests/fixtures/remote/worker-graph.ts) on one
 * LangGraph dev server, the orchestrator (tests/fixtures/remote/orchestrator-graph.ts, built with
 * `createOrchestratorWorkers` and a `RemoteGraph` worker) on a second one, driven with the SDK.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MemorySaver } from "@langchain/langgraph";
import { RemoteGraph } from "@langchain/langgraph/remote";
import { Client } from "@langchain/langgraph-sdk";
import { createOrchestratorWorkers } from "../../src/graph/orchestrator-workers.js";
import type { ProgressEvent } from "../../src/schemas/events.js";
import { FileChange } from "../fixtures/remote/subtask.js";
import { startDevServer, type DevServer } from "../helpers/dev-server.js";

/** What the fixture's worker graph returns for one subtask. */
interface Edit {
  id: string;
  path: string;
  diff: string;
  after: string[];
  server: string;
}

/** What the fixture's worker graph records of each call it gets. */
interface WorkerCall {
  subtaskId: string;
  path: string;
  threadId: string;
  request: string;
}

/** The orchestrator thread's values that the tests read. */
interface OrchestratorValues {
  plan: { source: string; subtasks: { id: string; path: string }[] };
  results: { id: string; result: Edit }[];
  failed: { id: string; error: string }[];
  output: Edit[];
}

describe("a RemoteGraph worker: the worker graph on one dev server, the orchestrator on another", () => {
  let directory: string;
  let workerServer: DevServer | undefined;
  let orchestratorServer: DevServer | undefined;
  let orchestrator: Client;
  let workerApi: Client;
  let failMarker: string;
  let workerCallsFile: string;
  let plannerCallsFile: string;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), "remote-worker-"));
    failMarker = join(directory, "fail.txt.locked");
    workerCallsFile = join(directory, "worker-calls.jsonl");
    plannerCallsFile = join(directory, "planner-calls.jsonl");
    workerServer = await startDevServer(
      { WORKER_CALLS_FILE: workerCallsFile, WORKER_FAIL_MARKER: failMarker },
      { config: "tests/fixtures/remote/worker.langgraph.json" },
    );
    orchestratorServer = await startDevServer(
      { WORKER_URL: workerServer.apiUrl, PLANNER_CALLS_FILE: plannerCallsFile },
      { config: "tests/fixtures/remote/orchestrator.langgraph.json" },
    );
    orchestrator = new Client({ apiUrl: orchestratorServer.apiUrl });
    workerApi = new Client({ apiUrl: workerServer.apiUrl });
  }, 180_000);

  afterAll(async () => {
    // Both servers are closed even when one of them fails to close, or never started.
    await Promise.allSettled([orchestratorServer?.close(), workerServer?.close()]);
    await rm(directory, { recursive: true, force: true });
  });

  /** The calls the worker server's graph got for `request`, in the order they came. */
  async function workerCalls(request: string): Promise<WorkerCall[]> {
    const text = await readFile(workerCallsFile, "utf8").catch(() => "");
    return text
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as WorkerCall)
      .filter((call) => call.request === request);
  }

  /** How many times the orchestrator server's planner was asked to plan `request`. */
  async function plannerCalls(request: string): Promise<number> {
    const text = await readFile(plannerCallsFile, "utf8").catch(() => "");
    return text
      .split("\n")
      .filter(Boolean)
      .filter((line) => JSON.parse(line) === request).length;
  }

  /** The statuses of the runs the worker server made on one of its threads, sorted. */
  async function remoteRunStatuses(threadId: string): Promise<string[]> {
    const runs = await workerApi.runs.list(threadId);
    return runs.map((run) => run.status).sort();
  }

  /** Runs the orchestrator on a thread to its end; its progress events and the thread's values. */
  async function runOrchestrator(threadId: string, request: string) {
    const events: ProgressEvent[] = [];
    for await (const chunk of orchestrator.runs.stream(threadId, "orchestrator", {
      input: { request },
      streamMode: ["custom"],
    })) {
      if (chunk.event === "error") throw new Error(JSON.stringify(chunk.data));
      if (chunk.event === "custom") events.push(chunk.data as ProgressEvent);
    }
    const state = await orchestrator.threads.getState<OrchestratorValues>(threadId);
    return { events, values: state.values };
  }

  test("Studio's schemas for the orchestrator are built from the subtask schema, and its context holds the core's fields only", async () => {
    type Json = {
      properties?: Record<string, Json>;
      items?: Json;
      anyOf?: Json[];
      description?: string;
    };
    const [assistant] = await orchestrator.assistants.search({ graphId: "orchestrator" });
    const schemas = (await orchestrator.assistants.getSchemas(assistant!.assistant_id)) as {
      state_schema?: Json;
      output_schema?: Json;
      context_schema?: Json;
      config_schema?: Json;
    };
    // The output schema holds the plan (the state schema, when the server gives one, too).
    const plan = (schemas.state_schema ?? schemas.output_schema!).properties!.plan!;
    const planObject = plan.anyOf?.find((option) => option.properties) ?? plan;
    const subtask = planObject.properties!.subtasks!.items!;
    expect(Object.keys(subtask.properties!).sort()).toEqual([
      "change",
      "dependsOn",
      "id",
      "path",
      "round",
    ]);
    expect(subtask.properties!.path!.description).toBe("The file to change.");
    const context = schemas.context_schema ?? schemas.config_schema!;
    expect(Object.keys(context.properties!)).toContain("maxConcurrency");
    expect(Object.keys(context.properties!)).not.toContain("writerModel");
  });

  test("every subtask runs on the worker server, each on a remote thread of its own; dependencies cross the wire; the output is in plan order", async () => {
    const request = "Rename foo to bar";
    const thread = await orchestrator.threads.create();

    const { values } = await runOrchestrator(thread.thread_id, request);

    expect(values.failed).toEqual([]);
    // s1 waits for s3, so it finishes last; the output still follows the plan.
    expect(values.results.map((entry) => entry.id).at(-1)).toBe("s1");
    expect(values.output.map((edit) => edit.id)).toEqual(["s1", "s2", "s3"]);
    expect(values.output).toEqual([
      {
        id: "s1",
        path: "src/a.ts",
        diff: `--- src/a.ts: ${request}`,
        after: ["s3"],
        server: workerServer!.apiUrl,
      },
      {
        id: "s2",
        path: "fail.txt",
        diff: `--- fail.txt: ${request}`,
        after: [],
        server: workerServer!.apiUrl,
      },
      {
        id: "s3",
        path: "src/c.ts",
        diff: `--- src/c.ts: ${request}`,
        after: [],
        server: workerServer!.apiUrl,
      },
    ]);

    const calls = await workerCalls(request);
    expect(calls.map((call) => call.subtaskId).sort()).toEqual(["s1", "s2", "s3"]);
    const remoteThreads = new Set(calls.map((call) => call.threadId));
    expect(remoteThreads.size).toBe(3);
    // Not the orchestrator's thread: that one would be shared by every subtask of the run.
    expect(remoteThreads.has(thread.thread_id)).toBe(false);
    await expect(workerApi.threads.get(thread.thread_id)).rejects.toThrow(/404/);
    for (const remoteThread of remoteThreads) {
      expect(await remoteRunStatuses(remoteThread)).toEqual(["success"]);
    }
    expect(await plannerCalls(request)).toBe(1);
  }, 60_000);

  test("a subtask whose remote run fails is recorded in failed, with the remote error, while the others finish; the next run reruns only it, on its remote thread, without planning again", async () => {
    const request = "Rename baz to qux";
    const thread = await orchestrator.threads.create();
    await writeFile(failMarker, "");

    const first = await runOrchestrator(thread.thread_id, request);

    // The remote error's message, read out of the server's JSON body.
    expect(first.values.failed).toEqual([
      {
        id: "s2",
        error: expect.stringMatching(
          /^Error: The remote worker failed: fail\.txt is locked by another edit$/,
        ),
      },
    ]);
    expect(first.events).toContainEqual(
      expect.objectContaining({
        type: "section_failed",
        id: "s2",
        error: expect.stringContaining("fail.txt is locked by another edit"),
      }),
    );
    expect(first.values.output.map((edit) => [edit.id, edit.server])).toEqual([
      ["s1", workerServer!.apiUrl],
      ["s3", workerServer!.apiUrl],
    ]);
    const firstCalls = await workerCalls(request);
    expect(firstCalls.map((call) => call.subtaskId).sort()).toEqual(["s1", "s2", "s3"]);
    const remoteThreadOf = Object.fromEntries(
      firstCalls.map((call) => [call.subtaskId, call.threadId]),
    );
    expect(await remoteRunStatuses(remoteThreadOf.s2!)).toEqual(["error"]);

    await rm(failMarker);
    const second = await runOrchestrator(thread.thread_id, request);

    const rerun = (await workerCalls(request)).slice(firstCalls.length);
    expect(rerun).toEqual([
      { subtaskId: "s2", path: "fail.txt", threadId: remoteThreadOf.s2, request },
    ]);
    expect(await remoteRunStatuses(remoteThreadOf.s1!)).toEqual(["success"]);
    expect(await remoteRunStatuses(remoteThreadOf.s2!)).toEqual(["error", "success"]);
    expect(await remoteRunStatuses(remoteThreadOf.s3!)).toEqual(["success"]);
    expect(await plannerCalls(request)).toBe(1);
    expect(second.events.filter((event) => event.type === "plan_ready")).toEqual([
      expect.objectContaining({ source: "checkpoint" }),
    ]);
    expect(second.values.failed).toEqual([]);
    expect(second.values.output.map((edit) => [edit.id, edit.server])).toEqual([
      ["s1", workerServer!.apiUrl],
      ["s2", workerServer!.apiUrl],
      ["s3", workerServer!.apiUrl],
    ]);
  }, 60_000);

  test("an orchestrator outside any server (in this process, its own checkpointer, a thread id that is not a UUID) uses the same deployed worker", async () => {
    const request = "Rename quux to corge";
    const graph = createOrchestratorWorkers({
      subtask: FileChange,
      planner: () => [
        { path: "src/x.ts", change: request },
        { path: "src/y.ts", change: request, dependsOn: ["s1"] },
      ],
      worker: new RemoteGraph({ graphId: "worker", url: workerServer!.apiUrl }),
    }).compile({ checkpointer: new MemorySaver() });

    const out = await graph.invoke({ request }, { configurable: { thread_id: "change-1" } });

    expect(out.failed).toEqual([]);
    expect(out.output).toEqual([
      {
        id: "s1",
        path: "src/x.ts",
        diff: `--- src/x.ts: ${request}`,
        after: [],
        server: workerServer!.apiUrl,
      },
      {
        id: "s2",
        path: "src/y.ts",
        diff: `--- src/y.ts: ${request}`,
        after: ["s1"],
        server: workerServer!.apiUrl,
      },
    ]);
    const calls = await workerCalls(request);
    expect(new Set(calls.map((call) => call.threadId)).size).toBe(2);
  }, 60_000);
});
