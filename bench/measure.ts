/**
 * One measurement in its own process: runs this project's graph, the docs' baseline graph, or the
 * plain floor once, and prints one JSON line with what it measured.
 * Arguments: one JSON object (see `Measurement` below). Build dist/ first (`npm run build`; `npm
 * run bench` does when src/ is newer). For example:
 *   node --import tsx bench/measure.ts '{"impl":"project","n":10000,"source":"scripted"}'
 * and over HTTP, against a model server started in another shell (it prints its URL):
 *   node --import tsx bench/servers.ts model '{"latencyMs":200,"n":1000}'
 *   node --import tsx bench/measure.ts \
 *     '{"impl":"floor","n":1000,"source":"http","baseURL":"<url>","concurrency":100}'
 * Tracing: set LANGSMITH_TRACING=true, LANGSMITH_API_KEY=bench and LANGSMITH_ENDPOINT to the URL
 * `bench/servers.ts receiver` prints.
 *
 * - **floor**: no project code at all: `@langchain/openai`'s `ChatOpenAI` (or the bench's
 *   zero-latency model), one planner call through `withStructuredOutput` of a zod schema defined
 *   here, then every section call at once under a plain `Promise.allSettled`.
 * - **baseline**: the LangGraph docs' tutorial graph (`bench/baseline/graph.ts`) around the same
 *   client (same settings) or the same zero-latency model.
 * - **project**: the package as an installed copy gets it: imported by its name
 *   (`orchestrator-workers`, which resolves through package.json's `exports` to the built
 *   `dist/index.js`, so `npm run build` first), public API only. Over HTTP it builds its own
 *   `ChatOpenAI` clients from `OPENAI_BASE_URL` / `OPENAI_API_KEY`, as the CLI does, with the
 *   configuration's defaults (maxRetries 3, requestTimeoutMs 120000, maxConcurrency 10 unless
 *   `concurrency` is given); with `client: "given"` it is handed the floor's client instead. With
 *   the zero-latency source it is handed the bench's zero-latency model (`buildGraph({ model })`).
 */
import { HumanMessage, SystemMessage } from "@langchain/core/messages";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { awaitAllCallbacks } from "@langchain/core/callbacks/promises";
import { ChatOpenAI } from "@langchain/openai";
import { MemorySaver, type BaseCheckpointSaver } from "@langchain/langgraph";
import { z } from "zod";
import { buildBaselineGraph } from "./baseline/graph.js";
import { ZeroLatencyChatModel } from "./zero-latency-model.js";

export interface Measurement {
  impl: "project" | "baseline" | "floor";
  n: number;
  /** "http": the real ChatOpenAI client against `baseURL`; "scripted": the bench's zero-latency model. */
  source: "http" | "scripted";
  baseURL?: string;
  /**
   * Requests in flight at once: the project's `maxConcurrency` configuration, the floor's and the
   * baseline's `ChatOpenAI({ maxConcurrency })`. Unset: the project's default (10), and 10 for the
   * plain client too. Not applied to the zero-latency model.
   */
  concurrency?: number;
  /** Project over HTTP: its own clients from the environment (default), or the floor's client. */
  client?: "own" | "given";
  /** Project only; public checkpointer packages, as an installed package's user would pass them. */
  checkpointer?: "none" | "memory" | "sqlite" | "postgres";
  /**
   * The parent stops the run this many milliseconds after it started and reports what was done
   * by then (`stopped`), for a row that would take too long to finish (the unpatched tutorial
   * graph at 10,000 sections). The run reports its start and progress on stderr.
   */
  deadlineMs?: number;
}

export interface MeasurementResult {
  wallMs: number;
  firstSectionMs?: number;
  completed: number;
  failed: number;
  error?: string;
  /**
   * The run was stopped at `deadlineMs`: `wallMs` is the time it had, `completed` what it did by
   * then, `rssMB` its peak RSS by then (VmHWM).
   */
  stopped?: boolean;
  /** Peak resident set size of the process (`process.resourceUsage().maxRSS`). */
  rssMB: number;
}

/** The part of the package's public API the bench uses (typed here: `dist/` may not be built yet). */
interface PublicApi {
  buildGraph(options: { model?: BaseChatModel; checkpointer?: BaseCheckpointSaver }): {
    stream(
      input: { topic: string },
      options: { configurable: Record<string, unknown>; streamMode: "custom" },
    ): Promise<AsyncIterable<unknown>>;
  };
}

const spec = JSON.parse(process.argv[2] ?? "{}") as Measurement;
const topic = "How tides work";
const DEFAULT_CONCURRENCY = 10;

/** What the run has done so far, read by the deadline. */
const progress = { start: 0, completed: 0, firstSectionMs: undefined as number | undefined };
/**
 * Starts the run's clock. With a deadline, the run tells the parent on stderr when it starts and
 * how far it got (pipes are written synchronously on Linux, so these lines arrive even while the
 * event loop is starved of timers, as the unpatched task loop starves it): the parent stops the
 * process at the deadline and reports what it got.
 */
function startClock(): number {
  progress.start = performance.now();
  if (spec.deadlineMs) process.stderr.write("#started\n");
  return progress.start;
}

function sectionDone() {
  progress.completed += 1;
  progress.firstSectionMs ??= performance.now() - progress.start;
  if (spec.deadlineMs && progress.completed % Math.max(1, Math.floor(spec.n / 100)) === 0) {
    process.stderr.write(`#completed ${progress.completed}\n`);
  }
}

// The floor's plan schema: plain zod, no project code.
const FloorPlan = z.object({
  sections: z
    .array(
      z.object({
        name: z.string().describe("Name for this section of the report."),
        description: z.string().describe("What the section covers."),
      }),
    )
    .describe("Sections of the report."),
});

/** The plain client the floor and the baseline use, with every setting that matters explicit. */
function plainClient(): BaseChatModel {
  return new ChatOpenAI({
    model: "gpt-4.1-mini",
    apiKey: "bench",
    configuration: { baseURL: spec.baseURL },
    // The project's defaults (maxRetries 3, requestTimeoutMs 120000), so all three retry alike.
    maxRetries: 3,
    timeout: 120_000,
    maxConcurrency: spec.concurrency ?? DEFAULT_CONCURRENCY,
  });
}

function sourceModel(): BaseChatModel {
  return spec.source === "scripted" ? new ZeroLatencyChatModel(spec.n) : plainClient();
}

async function openCheckpointer(): Promise<
  { checkpointer: BaseCheckpointSaver; close(): Promise<void> } | undefined
> {
  switch (spec.checkpointer) {
    case "memory":
      return { checkpointer: new MemorySaver(), close: () => Promise.resolve() };
    case "sqlite": {
      const { SqliteSaver } = await import("@langchain/langgraph-checkpoint-sqlite");
      const saver = SqliteSaver.fromConnString(`/tmp/bench-${process.pid}-${Date.now()}.sqlite`);
      return {
        checkpointer: saver,
        close: () => {
          (saver.db as unknown as { close(): void }).close();
          return Promise.resolve();
        },
      };
    }
    case "postgres": {
      const { PostgresSaver } = await import("@langchain/langgraph-checkpoint-postgres");
      const saver = PostgresSaver.fromConnString(process.env.POSTGRES_URL!);
      await saver.setup();
      return { checkpointer: saver, close: () => saver.end() };
    }
    default:
      return undefined;
  }
}

async function runProject(): Promise<Omit<MeasurementResult, "rssMB">> {
  if (spec.source === "http" && spec.client !== "given") {
    // As the CLI and an installed package's user configure it: through the environment.
    process.env.OPENAI_BASE_URL = spec.baseURL;
    process.env.OPENAI_API_KEY = "bench";
  }
  // Imported by the package's name: package.json's `exports` resolve it to dist/index.js.
  const packageName = "orchestrator-workers";
  const api = (await import(packageName)) as PublicApi;
  const store = await openCheckpointer();
  const graph = api.buildGraph({
    ...(spec.source === "scripted" || spec.client === "given" ? { model: sourceModel() } : {}),
    ...(store ? { checkpointer: store.checkpointer } : {}),
  });
  const configurable: Record<string, unknown> = {
    maxSections: spec.n,
    thread_id: `bench-${process.pid}-${Date.now()}`,
  };
  if (spec.concurrency) configurable.maxConcurrency = spec.concurrency;
  const start = startClock();
  let failed = 0;
  try {
    for await (const chunk of await graph.stream(
      { topic },
      { configurable, streamMode: "custom" },
    )) {
      const type = (chunk as { type: string }).type;
      if (type === "section_completed") sectionDone();
      else if (type === "section_failed") failed += 1;
    }
    await awaitAllCallbacks();
    const { completed, firstSectionMs } = progress;
    return { wallMs: performance.now() - start, firstSectionMs, completed, failed };
  } catch (error) {
    await awaitAllCallbacks();
    return {
      wallMs: performance.now() - start,
      firstSectionMs: progress.firstSectionMs,
      completed: progress.completed,
      failed: spec.n - progress.completed,
      error: (error as Error).message.slice(0, 160),
    };
  } finally {
    await store?.close();
  }
}

async function runBaseline(): Promise<Omit<MeasurementResult, "rssMB">> {
  const graph = buildBaselineGraph(sourceModel());
  const start = startClock();
  try {
    for await (const chunk of await graph.stream({ topic }, { streamMode: "updates" })) {
      if ("llm_call" in chunk) sectionDone();
    }
    await awaitAllCallbacks();
    const { completed, firstSectionMs } = progress;
    return {
      wallMs: performance.now() - start,
      firstSectionMs,
      completed,
      failed: spec.n - completed,
    };
  } catch (error) {
    await awaitAllCallbacks();
    // The tutorial graph has no failure handling: one failed section fails the run.
    return {
      wallMs: performance.now() - start,
      firstSectionMs: progress.firstSectionMs,
      completed: 0,
      failed: spec.n,
      error: (error as Error).message.slice(0, 160),
    };
  }
}

async function runFloor(): Promise<Omit<MeasurementResult, "rssMB">> {
  const model = sourceModel();
  const start = startClock();
  try {
    const plan = await model
      .withStructuredOutput(FloorPlan, { name: "plan" })
      .invoke([
        new SystemMessage("Generate a plan for the report."),
        new HumanMessage(`Here is the report topic: ${topic}`),
      ]);
    const results = await Promise.allSettled(
      plan.sections.map(async (section) => {
        const message = await model.invoke([
          new SystemMessage("Write a report section following the provided name and description."),
          new HumanMessage(
            `<Section name>\n${section.name}\n</Section name>\n\nHere is the section description: ${section.description}`,
          ),
        ]);
        sectionDone();
        return message.text;
      }),
    );
    const texts = results.flatMap((result) =>
      result.status === "fulfilled" ? [result.value] : [],
    );
    void texts.join("\n\n");
    await awaitAllCallbacks();
    return {
      wallMs: performance.now() - start,
      firstSectionMs: progress.firstSectionMs,
      completed: texts.length,
      failed: results.length - texts.length,
    };
  } catch (error) {
    await awaitAllCallbacks();
    return {
      wallMs: performance.now() - start,
      firstSectionMs: progress.firstSectionMs,
      completed: 0,
      failed: spec.n,
      error: (error as Error).message.slice(0, 160),
    };
  }
}

function report(result: Omit<MeasurementResult, "rssMB">): never {
  const output: MeasurementResult = {
    ...result,
    wallMs: Math.round(result.wallMs),
    firstSectionMs:
      result.firstSectionMs === undefined ? undefined : Math.round(result.firstSectionMs),
    rssMB: Math.round(process.resourceUsage().maxRSS / 1024),
  };
  console.log(JSON.stringify(output));
  process.exit(0);
}

const run = { project: runProject, baseline: runBaseline, floor: runFloor }[spec.impl];
report(await run());
