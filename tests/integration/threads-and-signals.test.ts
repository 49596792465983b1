import { MemorySaver } from "@langchain/langgraph";
import { buildGraph } from "../../src/graph/graph.js";
import { ThreadBusyError } from "../../src/index.js";
import { ScriptedChatModel, defaultPlan } from "../../src/testing/index.js";

/**
 * One thread, one run, in the library (issue 23, "Concurrency, signals and stores"): LangGraph
 * lets two runs on one thread of one checkpointer both run, both paid for, the last overwriting
 * the other. The compiled graph refuses the second at once with a `ThreadBusyError`, before any
 * model call, and gives the thread up when the run ends, fails, is aborted or is left early.
 */

const input = { topic: "Tides" };
const onThread = (threadId: string) => ({ configurable: { thread_id: threadId } });

describe("a second run on a thread that is running (same process, same checkpointer)", () => {
  test("three concurrent invokes: one completes and is paid for, two are refused with ThreadBusyError; the thread then runs again", async () => {
    const model = new ScriptedChatModel({ plan: defaultPlan(3) });
    const graph = buildGraph({ model, checkpointer: new MemorySaver() });
    const config = onThread("busy");

    const results = await Promise.allSettled([
      graph.invoke(input, config),
      graph.invoke(input, config),
      graph.invoke(input, config),
    ]);

    const completed = results.filter((result) => result.status === "fulfilled");
    const refused = results.flatMap((result): unknown[] =>
      result.status === "rejected" ? [result.reason] : [],
    );
    expect(completed).toHaveLength(1);
    expect(refused).toHaveLength(2);
    for (const error of refused) {
      expect(ThreadBusyError.isInstance(error)).toBe(true);
      expect((error as ThreadBusyError).threadId).toBe("busy");
      expect((error as Error).message).toMatch(/Thread busy .*already running/);
    }
    // One plan, three sections, one synthesis: the refused runs sent nothing.
    expect(model.planCalls).toHaveLength(1);
    expect(model.writeCalls).toHaveLength(3);

    const again = await graph.invoke({ topic: "Waves" }, config);
    expect(again.report).toMatch(/Part 1/);
    expect(model.planCalls).toHaveLength(2);
  });

  test("other threads, other checkpointers and runs without a thread are not refused", async () => {
    const checkpointer = new MemorySaver();
    const model = new ScriptedChatModel({ plan: defaultPlan(2) });
    const graph = buildGraph({ model, checkpointer });
    const other = buildGraph({ model, checkpointer: new MemorySaver() });
    const unsaved = buildGraph({ model });
    const results = await Promise.all([
      graph.invoke(input, onThread("a")),
      graph.invoke(input, onThread("b")),
      other.invoke(input, onThread("a")),
      unsaved.invoke(input),
      unsaved.invoke(input),
    ]);
    expect(results).toHaveLength(5);
    expect(model.planCalls).toHaveLength(5);
  });

  test("withConfig copies share the thread's lock (same checkpointer)", async () => {
    const model = new ScriptedChatModel({ plan: defaultPlan(2) });
    const graph = buildGraph({ model, checkpointer: new MemorySaver() });
    const bound = graph.withConfig({ configurable: { thread_id: "bound" } });
    const results = await Promise.allSettled([
      bound.invoke(input),
      graph.invoke(input, onThread("bound")),
    ]);
    expect(results.map((result) => result.status)).toEqual(["fulfilled", "rejected"]);
    expect(model.planCalls).toHaveLength(1);
  });

  test("a run that fails gives the thread up", async () => {
    const failing = new ScriptedChatModel({ planAnswer: { nothing: "usable" } });
    const checkpointer = new MemorySaver();
    await expect(
      buildGraph({ model: failing, checkpointer }).invoke(input, onThread("fails")),
    ).rejects.toThrow();
    const healthy = new ScriptedChatModel({ plan: defaultPlan(2) });
    const result = await buildGraph({ model: healthy, checkpointer }).invoke(
      input,
      onThread("fails"),
    );
    expect(result.report).toMatch(/Part 2/);
  });

  test("an aborted run gives the thread up", async () => {
    const controller = new AbortController();
    // Aborted from inside the run, while its first section is being written.
    const model = new ScriptedChatModel({
      plan: defaultPlan(3),
      write: (name) => {
        controller.abort(new Error("stopped by the test"));
        return `${name}.`;
      },
      delayMs: (call) => (call.toolChoice ? 0 : 50),
    });
    const graph = buildGraph({ model, checkpointer: new MemorySaver() });
    await expect(
      graph.invoke(input, { ...onThread("aborted"), signal: controller.signal }),
    ).rejects.toThrow(/stopped by the test|abort/i);
    const result = await graph.invoke(input, onThread("aborted"));
    expect(result.report).toMatch(/Part 3/);
  });

  test("a run started while the thread's run is being aborted waits for it instead of failing (the Agent Server's interrupt and rollback)", async () => {
    const controller = new AbortController();
    let writing!: () => void;
    const firstSectionStarted = new Promise<void>((resolve) => (writing = resolve));
    let unblock!: () => void;
    const blocked = new Promise<void>((resolve) => (unblock = resolve));
    let runs = 0;
    const model = new ScriptedChatModel({
      plan: defaultPlan(2),
      waitFor: (call) => {
        if (call.toolChoice) return undefined;
        if (runs === 1) writing();
        // The first run's sections hang until it is aborted; the second's answer at once.
        return runs === 1 ? blocked : undefined;
      },
    });
    const graph = buildGraph({ model, checkpointer: new MemorySaver() });
    runs = 1;
    const first = graph.invoke(input, { ...onThread("handover"), signal: controller.signal });
    await firstSectionStarted;
    // Not aborted: refused at once.
    await expect(graph.invoke(input, onThread("handover"))).rejects.toThrow(ThreadBusyError);
    // Aborted: the new run waits until the old one has given the thread up, then runs.
    controller.abort(new Error("interrupted by a new run"));
    runs = 2;
    const second = graph.invoke({ topic: "Waves" }, onThread("handover"));
    unblock();
    await expect(first).rejects.toThrow(/interrupted by a new run|abort/i);
    const result = await second;
    expect(result.report).toMatch(/^# Waves/);
  });

  test("a consumer that stops reading early gives the thread up; while it reads, the thread is busy", async () => {
    const model = new ScriptedChatModel({ plan: defaultPlan(3) });
    const graph = buildGraph({ model, checkpointer: new MemorySaver() });
    const config = onThread("early");
    const stream = await graph.stream(input, { ...config, streamMode: "updates" });
    let whileReading: unknown;
    // Reads the first update only, then leaves the loop (which cancels the stream).
    for await (const update of stream) {
      expect(update).toBeDefined();
      whileReading = await graph.invoke(input, config).catch((error: unknown) => error);
      break;
    }
    expect(ThreadBusyError.isInstance(whileReading)).toBe(true);
    const result = await graph.invoke(input, config);
    expect(result.report).toMatch(/Part 1/);
  });

  test("cancel() on the stream gives the thread up, and its signal is aborted", async () => {
    const model = new ScriptedChatModel({ plan: defaultPlan(2) });
    const graph = buildGraph({ model, checkpointer: new MemorySaver() });
    const config = onThread("cancelled");
    const stream = (await graph.stream(input, config)) as unknown as {
      cancel(reason?: unknown): Promise<void>;
      signal?: AbortSignal;
    };
    await stream.cancel(new Error("not needed"));
    expect(stream.signal?.aborted).toBe(true);
    const result = await graph.invoke(input, config);
    expect(result.report).toMatch(/Part 2/);
  });

  test("streamEvents goes through the same rule", async () => {
    const model = new ScriptedChatModel({ plan: defaultPlan(2) });
    const graph = buildGraph({ model, checkpointer: new MemorySaver() });
    const config = onThread("events");
    const events = graph.streamEvents(input, { ...config, version: "v2" });
    const iterator = events[Symbol.asyncIterator]();
    await iterator.next(); // the run has started
    await expect(graph.invoke(input, config)).rejects.toThrow(/already running/);
    let count = 1;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) count += 1;
    expect(count).toBeGreaterThan(1);
    expect(model.planCalls).toHaveLength(1);
    await expect(graph.invoke(input, config)).resolves.toBeDefined();
  });
});
