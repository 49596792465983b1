/**
 * One measurement in its own process: runs this project's graph, the docs' baseline graph, or the
 * Promise.all floor once, and prints one JSON line with what it measured.
 * Arguments: one JSON object (see `Measurement` below).
 */
import { HumanMessage, SystemMessage } from "@langchain/core/messages";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { awaitAllCallbacks } from "@langchain/core/callbacks/promises";
import { ChatOpenAI } from "@langchain/openai";
import type { BaseCheckpointSaver } from "@langchain/langgraph";
import { buildGraph } from "../src/graph/graph.js";
import { resolveConfiguration } from "../src/schemas/configuration.js";
import { createChatModelProvider } from "../src/models/chat-models.js";
import { writerUserPrompt } from "../src/schemas/prompts.js";
import { PlanSchema, type Plan } from "../src/schemas/plan.js";
import { openRunStore } from "../src/cli/run-store.js";
import { buildBaselineGraph } from "./baseline/graph.js";
import { ScriptedChatModel, defaultPlan } from "../src/testing/index.js";

export interface Measurement {
  impl: "project" | "baseline" | "floor";
  n: number;
  /** "http": the real ChatOpenAI client against `baseURL`; "scripted": an in-process zero-latency model. */
  source: "http" | "scripted";
  baseURL?: string;
  /** The project's maxConcurrency (client and scheduler); unset keeps its default. */
  concurrency?: number;
  checkpointer?: "none" | "sqlite" | "postgres";
}

export interface MeasurementResult {
  wallMs: number;
  firstSectionMs?: number;
  completed: number;
  failed: number;
  error?: string;
  rssMB: number;
}

const spec = JSON.parse(process.argv[2] ?? "{}") as Measurement;
const topic = "How tides work";

function httpModel(options: { maxRetries: number; maxConcurrency?: number }): BaseChatModel {
  return new ChatOpenAI({
    model: "gpt-4.1-mini",
    apiKey: "bench",
    configuration: { baseURL: spec.baseURL },
    timeout: 120_000,
    ...options,
  });
}

async function runProject(): Promise<Omit<MeasurementResult, "rssMB">> {
  let store: { checkpointer: BaseCheckpointSaver; close(): Promise<void> } | undefined;
  if (spec.checkpointer === "sqlite" || spec.checkpointer === "postgres") {
    store = await openRunStore({
      sqlitePath: `/tmp/bench-${process.pid}-${Date.now()}.sqlite`,
      postgresUrl: spec.checkpointer === "postgres" ? process.env.POSTGRES_URL : undefined,
    });
  }
  const graph = buildGraph({
    ...(spec.source === "scripted"
      ? { model: new ScriptedChatModel({ plan: defaultPlan(spec.n) }) }
      : {
          environment: {
            openaiBaseUrl: spec.baseURL,
            openaiApiKey: "bench",
            workingDirectory: ".",
          },
        }),
    checkpointer: store?.checkpointer,
  });
  const configurable: Record<string, unknown> = {
    maxSections: spec.n,
    thread_id: `bench-${Date.now()}`,
  };
  if (spec.concurrency) configurable.maxConcurrency = spec.concurrency;
  const start = performance.now();
  let firstSectionMs: number | undefined;
  const stream = await graph.stream(
    { topic },
    {
      configurable,
      streamMode: "custom",
      ...(spec.concurrency ? { maxConcurrency: spec.concurrency } : {}),
    },
  );
  let completed = 0;
  let failed = 0;
  for await (const chunk of stream) {
    const type = (chunk as { type: string }).type;
    if (type === "section_completed") {
      completed += 1;
      firstSectionMs ??= performance.now() - start;
    } else if (type === "section_failed") {
      failed += 1;
    }
  }
  await awaitAllCallbacks();
  const wallMs = performance.now() - start;
  await store?.close();
  return {
    wallMs,
    firstSectionMs,
    completed,
    failed,
  };
}

async function runBaseline(): Promise<Omit<MeasurementResult, "rssMB">> {
  const model =
    spec.source === "scripted"
      ? new ScriptedChatModel({ plan: defaultPlan(spec.n) })
      : httpModel({ maxRetries: 0 });
  const graph = buildBaselineGraph(model);
  const start = performance.now();
  let firstSectionMs: number | undefined;
  let completed = 0;
  try {
    for await (const chunk of await graph.stream({ topic }, { streamMode: "updates" })) {
      if ("llm_call" in chunk) {
        completed += 1;
        firstSectionMs ??= performance.now() - start;
      }
    }
    await awaitAllCallbacks();
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
      firstSectionMs,
      completed: 0,
      failed: spec.n,
      error: (error as Error).message.slice(0, 120),
    };
  }
}

async function runFloor(): Promise<Omit<MeasurementResult, "rssMB">> {
  // The same client the project uses, with the same settings; no graph around it.
  const configuration = resolveConfiguration({
    configurable: {
      maxSections: spec.n,
      ...(spec.concurrency ? { maxConcurrency: spec.concurrency } : {}),
    },
  });
  const model =
    spec.source === "scripted"
      ? new ScriptedChatModel({ plan: defaultPlan(spec.n) })
      : createChatModelProvider({
          environment: {
            openaiBaseUrl: spec.baseURL,
            openaiApiKey: "bench",
            workingDirectory: ".",
          },
        })({ role: "writer", configuration });
  const start = performance.now();
  let firstSectionMs: number | undefined;
  const plan = (await model
    .withStructuredOutput(PlanSchema, { name: "plan" })
    .invoke([
      new SystemMessage(configuration.plannerPrompt),
      new HumanMessage(`<Report topic>\n${topic}\n</Report topic>`),
    ])) as Plan;
  const results = await Promise.allSettled(
    plan.sections.map(async (section) => {
      const message = await model.invoke([
        new SystemMessage(configuration.writerPrompt),
        new HumanMessage(writerUserPrompt({ topic, section })),
      ]);
      firstSectionMs ??= performance.now() - start;
      return message.text;
    }),
  );
  const texts = results.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
  void texts.join("\n\n");
  await awaitAllCallbacks();
  return {
    wallMs: performance.now() - start,
    firstSectionMs,
    completed: texts.length,
    failed: results.length - texts.length,
  };
}

const run = { project: runProject, baseline: runBaseline, floor: runFloor }[spec.impl];
const result = await run();
const output: MeasurementResult = {
  ...result,
  wallMs: Math.round(result.wallMs),
  firstSectionMs:
    result.firstSectionMs === undefined ? undefined : Math.round(result.firstSectionMs),
  rssMB: Math.round(process.resourceUsage().maxRSS / 1024),
};
console.log(JSON.stringify(output));
process.exit(0);
