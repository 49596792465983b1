import { Command, MemorySaver, StateGraph, START, END } from "@langchain/langgraph";
import { BaseCallbackHandler } from "@langchain/core/callbacks/base";
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
        // s3 finishes after s2 has started: arrival order must not decide the output's order.
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

  test("progress events name each subtask", async () => {
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

describe("createOrchestratorWorkers: what a thread keeps, and what it must not", () => {
  const FileEdit = z.object({ path: z.string() });

  test("a ready-made plan is not taken for a later request's plan on the same thread", async () => {
    const planned: string[] = [];
    const graph = createOrchestratorWorkers({
      subtask: FileEdit,
      planner: ({ request }) => {
        planned.push(request);
        return [{ path: `${request}.ts` }];
      },
      worker: ({ subtask }) => subtask.path,
    }).compile({ checkpointer: new MemorySaver() });
    const config = { configurable: { thread_id: "stale-plan" } };
    await graph.invoke({ request: "first", subtasks: [{ path: "given.ts" }] }, config);
    const second = await graph.invoke({ request: "second" }, config);
    expect(planned).toEqual(["second"]);
    expect(second.output).toEqual(["second.ts"]);
  });

  test("later planning rounds with a replan function; a re-run with the same ready-made plan redoes nothing", async () => {
    const attempts: string[] = [];
    const graph = createOrchestratorWorkers({
      subtask: FileEdit,
      planner: () => [{ path: "unused.ts" }],
      worker: ({ subtask }) => {
        attempts.push(subtask.path);
        return subtask.path;
      },
      replan: ({ round, results }) =>
        round === 2 ? [{ path: `after-${results.length}.ts`, dependsOn: ["main"] }] : [],
    }).compile({ checkpointer: new MemorySaver() });
    const config = { configurable: { thread_id: "rounds", maxPlanningRounds: 3 } };
    const input = {
      request: "grow",
      subtasks: [
        { id: "main", path: "a.ts" },
        { id: "s3", path: "b.ts" },
      ],
    };
    const first = await graph.invoke(input, config);
    // The added subtask gets an id no subtask has (s3 is taken).
    expect(first.plan?.subtasks.map((subtask) => [subtask.id, subtask.path])).toEqual([
      ["main", "a.ts"],
      ["s3", "b.ts"],
      ["s4", "after-2.ts"],
    ]);
    expect(first.output).toEqual(["a.ts", "b.ts", "after-2.ts"]);
    attempts.length = 0;
    await graph.invoke(input, config);
    expect(attempts).toEqual([]);
  });

  test.each([
    ["throws", () => Promise.reject(new Error("replanner down"))],
    ["returns no list", () => null as never],
  ])("a replan function that %s keeps the work done and warns", async (_case, replan) => {
    const graph = createOrchestratorWorkers({
      subtask: FileEdit,
      planner: () => [{ path: "a.ts" }],
      worker: ({ subtask }) => subtask.path,
      replan,
    }).compile();
    const out = await graph.invoke({ request: "grow" }, { configurable: { maxPlanningRounds: 2 } });
    expect(out.output).toEqual(["a.ts"]);
    expect(out.warnings.join("\n")).toMatch(
      /Planning round 2 proposed subtasks that could not be used/,
    );
  });

  test("a result that is not JSON data fails its subtask, saying where and what to return", async () => {
    class Money {
      constructor(readonly amount: number) {}
    }
    const graph = createOrchestratorWorkers({
      subtask: FileEdit,
      planner: () => [{ path: "big" }, { path: "money" }, { path: "fine" }],
      worker: ({ subtask }): unknown =>
        subtask.path === "big"
          ? { total: 10n }
          : subtask.path === "money"
            ? { price: new Money(5) }
            : { ok: true },
    }).compile({ checkpointer: new MemorySaver() });
    const config = { configurable: { thread_id: "not-json" } };
    const out = await graph.invoke({ request: "x" }, config);
    expect(out.failed).toEqual([
      { id: "s1", error: expect.stringMatching(/result\.total is a bigint\. Return JSON data/) },
      { id: "s2", error: expect.stringMatching(/result\.price is a Money, not a plain object/) },
    ]);
    expect(out.output).toEqual([{ ok: true }]);
    // The thread's stored state is intact.
    const stored = (await graph.getState(config)).values as { results: unknown[] };
    expect(stored.results).toHaveLength(1);
  });

  test("the graph is named as given; failFast stops the run with a redacted message", async () => {
    const builder = createOrchestratorWorkers({
      name: "edits",
      subtask: FileEdit,
      planner: () => [{ path: "a.ts" }],
      worker: () => {
        throw new Error("key sk-secret-123 refused");
      },
      secrets: ["sk-secret-123"],
    });
    const graph = builder.compile();
    expect(graph.name).toBe("edits");
    const failure = await graph
      .invoke({ request: "x" }, { configurable: { failFast: true } })
      .catch((error: unknown) => error as Error);
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toMatch(
      /s1 failed \(failFast\): Error: key \[redacted\] refused/,
    );
    expect((failure as Error).message).not.toContain("sk-secret-123");
  });

  test("a graph compiled by its user bounds the workers running at once, also through withConfig", async () => {
    let running = 0;
    let most = 0;
    const graph = createOrchestratorWorkers({
      subtask: FileEdit,
      planner: () => Array.from({ length: 12 }, (_, index) => ({ path: `f${index}.ts` })),
      worker: async ({ subtask }) => {
        running += 1;
        most = Math.max(most, running);
        await new Promise((resolve) => setImmediate(resolve));
        running -= 1;
        return subtask.path;
      },
    }).compile();
    await graph.invoke({ request: "x" }, { configurable: { maxConcurrency: 3, maxSections: 12 } });
    expect(most).toBe(3);
    most = 0;
    await graph
      .withConfig({ configurable: { maxConcurrency: 2, maxSections: 12 } })
      .invoke({ request: "x" });
    expect(most).toBe(2);
  });

  test("a plan of hundreds is sent in steps of bounded size, in plan order, and all of it is done", async () => {
    const started: string[][] = [];
    const graph = createOrchestratorWorkers({
      subtask: FileEdit,
      planner: () => Array.from({ length: 600 }, (_, index) => ({ path: `f${index}.ts` })),
      worker: ({ subtask }) => subtask.path,
    }).compile();
    const stream = await graph.stream(
      { request: "x" },
      { configurable: { maxSections: 600, maxConcurrency: 10 }, streamMode: ["custom", "values"] },
    );
    let output: unknown;
    for await (const [mode, chunk] of stream as AsyncIterable<[string, Record<string, unknown>]>) {
      if (mode === "custom" && chunk.type === "wave_started") {
        started.push((chunk.sections as { id: string }[]).map((section) => section.id));
      }
      if (mode === "values") output = chunk.output;
    }
    // stepSize(10) is 256: no LangGraph step holds more, and the steps go through the plan in order.
    expect(started.map((wave) => wave.length)).toEqual([256, 256, 88]);
    expect(started.flat()).toEqual(Array.from({ length: 600 }, (_, index) => `s${index + 1}`));
    expect(output).toEqual(Array.from({ length: 600 }, (_, index) => `f${index}.ts`));
  });

  test("a chain of dependencies longer than LangGraph's default step limit runs to the end; a caller's own recursionLimit still holds", async () => {
    const chain = () =>
      Array.from({ length: 20 }, (_, index) => ({
        path: `f${index}.ts`,
        ...(index > 0 ? { dependsOn: [`s${index}`] } : {}),
      }));
    const build = () =>
      createOrchestratorWorkers({
        subtask: FileEdit,
        planner: chain,
        worker: ({ subtask }) => subtask.path,
      }).compile();
    // Twenty waves take over forty steps; LangGraph's default limit is 25.
    const out = await build().invoke({ request: "x" }, { configurable: { maxSections: 20 } });
    expect(out.output).toHaveLength(20);
    await expect(
      build().invoke({ request: "x" }, { configurable: { maxSections: 20 }, recursionLimit: 10 }),
    ).rejects.toThrow(/Recursion limit of 10 reached/);
    await expect(
      build()
        .withConfig({ recursionLimit: 12 })
        .invoke({ request: "x" }, { configurable: { maxSections: 20 } }),
    ).rejects.toThrow(/Recursion limit of 12 reached/);
  });

  test("without a callback handler, the work still gets its subtask's tags and metadata in its config", async () => {
    const seen: { tags?: string[]; metadata?: Record<string, unknown> }[] = [];
    const graph = createOrchestratorWorkers({
      subtask: FileEdit,
      planner: () => [{ path: "a.ts" }],
      worker: (_input, config) => {
        seen.push({ tags: config.tags, metadata: config.metadata });
        return "done";
      },
    }).compile();
    await graph.invoke({ request: "x" });
    expect(seen).toHaveLength(1);
    expect(seen[0]!.tags).toContain("subtask:s1");
    expect(seen[0]!.metadata).toMatchObject({ subtask_id: "s1", subtask_name: "a.ts" });
  });

  test("a synthesizer that throws fails the run; the next run of the thread only synthesizes", async () => {
    const attempts: string[] = [];
    let broken = true;
    const graph = createOrchestratorWorkers({
      subtask: FileEdit,
      planner: () => [{ path: "a.ts" }, { path: "b.ts" }],
      worker: ({ subtask }) => {
        attempts.push(subtask.path);
        return subtask.path;
      },
      synthesize: ({ results }) => {
        if (broken) throw new Error("synthesis failed");
        return results.map((entry) => entry.result).join("+");
      },
    }).compile({ checkpointer: new MemorySaver() });
    const config = { configurable: { thread_id: "synthesis" } };
    await expect(graph.invoke({ request: "x" }, config)).rejects.toThrow("synthesis failed");
    broken = false;
    attempts.length = 0;
    const out = await graph.invoke({ request: "x" }, config);
    expect(attempts).toEqual([]);
    expect(out.output).toBe("a.ts+b.ts");
  });

  test("a planner function that throws fails the run before any worker", async () => {
    const attempts: string[] = [];
    const graph = createOrchestratorWorkers({
      subtask: FileEdit,
      planner: () => {
        throw new Error("cannot plan");
      },
      worker: ({ subtask }) => attempts.push(subtask.path),
    }).compile();
    await expect(graph.invoke({ request: "x" })).rejects.toThrow("cannot plan");
    expect(attempts).toEqual([]);
  });

  test("each subtask is a run named after it, tagged with its id; names are one line of visible text", async () => {
    const runs: { name: string; tags: string[]; metadata: Record<string, unknown> }[] = [];
    const recorder = BaseCallbackHandler.fromMethods({
      handleChainStart(_chain, _inputs, _runId, _parent, tags, metadata, _type, name) {
        if (tags?.some((tag) => tag.startsWith("subtask:"))) {
          runs.push({ name: name ?? "", tags: tags ?? [], metadata: metadata ?? {} });
        }
      },
    });
    const graph = createOrchestratorWorkers({
      subtask: FileEdit,
      planner: () => [{ path: "src/a.ts" }, { path: "evil\u001b]0;title\u0007\nname.ts" }],
      worker: ({ subtask }) => subtask.path,
    }).compile();
    await graph.invoke({ request: "x" }, { callbacks: [recorder] });
    expect(runs.map((run) => run.name).sort()).toEqual(["evil name.ts", "src/a.ts"]);
    const first = runs.find((run) => run.name === "src/a.ts")!;
    expect(first.tags).toContain("subtask:s1");
    expect(first.metadata).toMatchObject({ subtask_id: "s1", subtask_name: "src/a.ts" });
  });
});
