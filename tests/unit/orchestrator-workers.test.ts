import { Command, MemorySaver, StateGraph, START, END } from "@langchain/langgraph";
import { RunnableLambda } from "@langchain/core/runnables";
import { z } from "zod";
import { createOrchestratorWorkers } from "../../src/graph/orchestrator-workers.js";
import { InvalidInputError } from "../../src/errors.js";
import { ScriptedChatModel } from "../../src/testing/index.js";

const FileChange = z.object({
  path: z.string().describe("The file to change."),
  change: z.string().describe("What to change in it."),
});

type Planned = { id: string; path: string; change: string; dependsOn?: string[] };

/** A planner function that records its calls and plans three files, the second after the first. */
function recordingPlanner() {
  const calls: string[] = [];
  const planner = (input: { request: string }) => {
    calls.push(input.request);
    return [
      { path: "src/a.ts", change: "rename foo" },
      { path: "src/b.ts", change: "update the import", dependsOn: ["s1"] },
      { path: "src/c.ts", change: "rename the test" },
    ];
  };
  return { calls, planner };
}

describe("createOrchestratorWorkers: the pattern for any task", () => {
  test("custom fields reach the plan and the worker; dependencies arrive with their results; output is in plan order", async () => {
    const { planner } = recordingPlanner();
    const seen: { subtask: Planned; dependencies: { id: string; result: unknown }[] }[] = [];
    const graph = createOrchestratorWorkers({
      name: "code-change",
      subtask: FileChange,
      planner,
      worker: async ({ subtask, dependencies }) => {
        seen.push({ subtask: subtask, dependencies });
        // The first file finishes last: arrival order must not decide the output's order.
        if (subtask.id === "s3") await Promise.resolve();
        return { path: subtask.path, diff: `--- ${subtask.path}: ${subtask.change}` };
      },
    }).compile();

    const out = await graph.invoke({ request: "Rename foo to bar" });

    expect(out.plan?.subtasks).toEqual([
      { id: "s1", path: "src/a.ts", change: "rename foo" },
      { id: "s2", path: "src/b.ts", change: "update the import", dependsOn: ["s1"] },
      { id: "s3", path: "src/c.ts", change: "rename the test" },
    ]);
    const second = seen.find((entry) => entry.subtask.id === "s2")!;
    expect(second.subtask).toMatchObject({ path: "src/b.ts", change: "update the import" });
    expect(second.dependencies).toEqual([
      { id: "s1", result: { path: "src/a.ts", diff: "--- src/a.ts: rename foo" } },
    ]);
    expect(seen.find((entry) => entry.subtask.id === "s1")!.dependencies).toEqual([]);
    expect(out.output).toEqual([
      { path: "src/a.ts", diff: "--- src/a.ts: rename foo" },
      { path: "src/b.ts", diff: "--- src/b.ts: update the import" },
      { path: "src/c.ts", diff: "--- src/c.ts: rename the test" },
    ]);
    expect(out.results.map((entry: { id: string }) => entry.id).sort()).toEqual(["s1", "s2", "s3"]);
    expect(out.failed).toEqual([]);
  });

  test("a throwing worker is isolated; re-invoking the thread reruns only it, without planning again", async () => {
    const { calls, planner } = recordingPlanner();
    const attempts: string[] = [];
    let broken = true;
    const graph = createOrchestratorWorkers({
      subtask: FileChange,
      planner,
      worker: ({ subtask }) => {
        attempts.push(subtask.id);
        if (subtask.id === "s3" && broken) throw new Error("disk full");
        return `changed ${subtask.path}`;
      },
      synthesize: ({ results, failed }) => ({
        patch: results.map((entry) => entry.result).join("\n"),
        missing: failed.map((entry) => entry.id),
      }),
    }).compile({ checkpointer: new MemorySaver() });
    const config = { configurable: { thread_id: "change-1" } };

    const first = await graph.invoke({ request: "Rename foo to bar" }, config);
    expect(first.failed).toEqual([{ id: "s3", error: expect.stringContaining("disk full") }]);
    expect(first.output).toEqual({
      patch: "changed src/a.ts\nchanged src/b.ts",
      missing: ["s3"],
    });

    broken = false;
    attempts.length = 0;
    const second = await graph.invoke({ request: "Rename foo to bar" }, config);
    expect(attempts).toEqual(["s3"]);
    expect(calls).toHaveLength(1);
    expect(second.failed).toEqual([]);
    expect(second.output).toEqual({
      patch: "changed src/a.ts\nchanged src/b.ts\nchanged src/c.ts",
      missing: [],
    });
  });

  test("a ready-made plan skips the planner; its ids are kept and missing ones assigned", async () => {
    const { calls, planner } = recordingPlanner();
    const graph = createOrchestratorWorkers({
      subtask: FileChange,
      planner,
      worker: ({ subtask }) => subtask.path.toUpperCase(),
    }).compile();
    const out = await graph.invoke({
      request: "Rename foo to bar",
      subtasks: [
        { id: "readme", path: "README.md", change: "docs" },
        { path: "src/x.ts", change: "code", dependsOn: ["readme"] },
      ],
    });
    expect(calls).toHaveLength(0);
    expect((out.plan?.subtasks as Planned[]).map((subtask) => subtask.id)).toEqual([
      "readme",
      "s2",
    ]);
    expect(out.plan?.source).toBe("input");
    expect(out.output).toEqual(["README.MD", "SRC/X.TS"]);
  });

  test("a compiled subgraph worker gets { request, subtask, dependencies }; its output's result is the result", async () => {
    const WorkerState = z.object({
      request: z.string(),
      subtask: FileChange.extend({ id: z.string() }),
      dependencies: z.array(z.object({ id: z.string(), result: z.unknown() })),
      result: z.string().optional(),
    });
    const subgraph = new StateGraph(WorkerState)
      .addNode("edit", (state) => ({
        result: `${state.request} in ${state.subtask.path} after [${state.dependencies.map((dependency) => dependency.id).join(",")}]`,
      }))
      .addEdge(START, "edit")
      .addEdge("edit", END)
      .compile();
    const graph = createOrchestratorWorkers({
      subtask: FileChange,
      planner: recordingPlanner().planner,
      worker: subgraph,
    }).compile({ checkpointer: new MemorySaver() });
    const out = await graph.invoke(
      { request: "Rename" },
      { configurable: { thread_id: "subgraph-worker" } },
    );
    expect(out.output).toEqual([
      "Rename in src/a.ts after []",
      "Rename in src/b.ts after [s1]",
      "Rename in src/c.ts after []",
    ]);
  });

  test("any Runnable is a worker: its output is the result", async () => {
    const graph = createOrchestratorWorkers({
      subtask: FileChange,
      planner: recordingPlanner().planner,
      worker: RunnableLambda.from((input: { subtask: { path: string } }) => input.subtask.path),
    }).compile();
    const out = await graph.invoke({ request: "Rename" });
    expect(out.output).toEqual(["src/a.ts", "src/b.ts", "src/c.ts"]);
  });

  test("a chat-model planner is asked for { subtasks } through structured output; its calls are counted", async () => {
    const model = new ScriptedChatModel({
      planAnswer: {
        subtasks: [
          { path: "a.ts", change: "one", dependsOn: [] },
          { path: "b.ts", change: "two", dependsOn: ["s1"] },
        ],
      },
    });
    const graph = createOrchestratorWorkers({
      subtask: FileChange,
      planner: model,
      worker: ({ subtask, dependencies }) => `${subtask.path}<-${dependencies.length}`,
    }).compile();
    const out = await graph.invoke({ request: "Split the change" });
    expect(model.planCalls).toHaveLength(1);
    expect(model.planCalls[0]!.prompt).toContain("Split the change");
    expect(out.plan?.subtasks).toEqual([
      { id: "s1", path: "a.ts", change: "one" },
      { id: "s2", path: "b.ts", change: "two", dependsOn: ["s1"] },
    ]);
    expect(out.output).toEqual(["a.ts<-0", "b.ts<-1"]);
  });

  test("the model calls a worker makes are recorded, so a token budget stops the run", async () => {
    const model = new ScriptedChatModel({});
    const graph = createOrchestratorWorkers({
      subtask: FileChange,
      planner: recordingPlanner().planner,
      worker: async ({ subtask }, config) => {
        const answer = await model.invoke(`Edit ${subtask.path}`, config);
        return answer.text;
      },
    }).compile();
    // s1 and s3 run in the first wave (maxConcurrency 2); s2 waits for s1 and the budget is spent.
    const out = await graph.invoke(
      { request: "Rename" },
      { configurable: { maxTotalTokens: 1, maxConcurrency: 2 } },
    );
    expect(out.results).toHaveLength(2);
    expect(out.warnings.join("\n")).toMatch(
      /token budget \(maxTotalTokens 1\).*1 subtask was not started/,
    );
  });

  test("plan review pauses with the subtasks; an edit keeps its custom fields", async () => {
    const graph = createOrchestratorWorkers({
      subtask: FileChange,
      planner: recordingPlanner().planner,
      worker: ({ subtask }) => `${subtask.path}: ${subtask.change}`,
    }).compile({ checkpointer: new MemorySaver() });
    const config = { configurable: { thread_id: "review-1", reviewPlan: true } };
    await graph.invoke({ request: "Rename" }, config);
    const state = await graph.getState(config);
    const request = state.tasks.flatMap((task) => task.interrupts)[0]?.value as {
      request: string;
      plan: Planned[];
      answers: string;
    };
    expect(request.request).toBe("Rename");
    expect(request.plan.map((subtask) => subtask.path)).toEqual([
      "src/a.ts",
      "src/b.ts",
      "src/c.ts",
    ]);
    expect(request.answers).toContain("subtasks");
    const out = await graph.invoke(
      new Command({
        resume: { action: "edit", subtasks: [{ path: "only.ts", change: "everything" }] },
      }),
      config,
    );
    expect(out.output).toEqual(["only.ts: everything"]);
  });

  test("progress events name each subtask; its run is named after it", async () => {
    const graph = createOrchestratorWorkers({
      subtask: FileChange,
      planner: recordingPlanner().planner,
      worker: ({ subtask }) => subtask.path,
    }).compile();
    const events: { type: string; id?: string; name?: string }[] = [];
    for await (const chunk of await graph.stream({ request: "Rename" }, { streamMode: "custom" })) {
      events.push(chunk as { type: string; id?: string; name?: string });
    }
    expect(events[0]).toMatchObject({ type: "plan_ready", source: "planner" });
    expect(
      events.filter((event) => event.type === "section_completed").map((event) => event.name),
    ).toEqual(expect.arrayContaining(["src/a.ts", "src/b.ts", "src/c.ts"]));
  });

  test("bad input is refused before the planner is called, saying what to change", async () => {
    const { calls, planner } = recordingPlanner();
    const graph = createOrchestratorWorkers({
      subtask: FileChange,
      planner,
      worker: () => "done",
    }).compile();
    await expect(graph.invoke({ request: "   " })).rejects.toThrow(/The request is empty/);
    await expect(graph.invoke({ request: "Rename", subtasks: [{ path: "a.ts" }] })).rejects.toThrow(
      /subtasks\[0\]\.change/,
    );
    expect(calls).toHaveLength(0);
    expect(() =>
      createOrchestratorWorkers({
        subtask: FileChange,
        planner,
        worker: "not a worker" as never,
      }),
    ).toThrow(InvalidInputError);
  });
});
