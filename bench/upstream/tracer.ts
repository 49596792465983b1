/**
 * Upstream repro (bench/upstream/tracer.md): @langchain/core's `BaseTracer._addRunToRunMap` gives
 * each new run a `RunTree` whose `parent_run` is `convertRunToRunTree(parentRun)`, and that
 * conversion copies every child the parent has had so far (recursively). The k-th child of a run
 * copies k-1 siblings, so a run with n children builds O(n²) `RunTree`s.
 *
 * Only the libraries as npm installs them. Run: `node --import tsx bench/upstream/tracer.ts`.
 * Traced with a `LangChainTracer` whose LangSmith `Client` has a local `fetchImplementation`
 * that accepts every request (nothing leaves the process). `RunTree`s are counted through a
 * wrapper of the static `RunTree.getDefaultConfig`, which the constructor calls once for each
 * new run tree. Prints, per number of children of one run: the siblings the last child's parent
 * link carries, the `RunTree`s built, and the wall and CPU time of the parent's run.
 */
import type { CallbackManager } from "@langchain/core/callbacks/manager";
import { RunnableLambda, type RunnableConfig } from "@langchain/core/runnables";
import { LangChainTracer } from "@langchain/core/tracers/tracer_langchain";
import { Client } from "langsmith";
import { RunTree } from "langsmith/run_trees";

let built = 0;
// `getDefaultConfig` is private in the typings; it is a plain static method at run time.
const counted = RunTree as unknown as { getDefaultConfig: () => object };
const getDefaultConfig = counted.getDefaultConfig.bind(RunTree);
counted.getDefaultConfig = () => {
  built += 1;
  return getDefaultConfig();
};

/** A LangSmith API that accepts everything: JSON batches (no multipart), 200 for every run. */
const acceptAll = (input: string | URL | Request): Promise<Response> => {
  const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
  const body = url.includes("/info")
    ? {
        version: "0.0.0-repro",
        batch_ingest_config: {
          use_multipart_endpoint: false,
          scale_up_qsize_trigger: 1000,
          scale_up_nthreads_limit: 16,
          scale_down_nempty_trigger: 4,
          size_limit: 100,
          size_limit_bytes: 20_971_520,
        },
      }
    : {};
  return Promise.resolve(
    new Response(JSON.stringify(body), {
      status: 200,
      headers: { "content-type": "application/json" },
    }),
  );
};

async function traced(children: number) {
  const client = new Client({
    apiUrl: "http://langsmith.invalid",
    apiKey: "repro",
    fetchImplementation: acceptAll,
  });
  const tracer = new LangChainTracer({ client, projectName: "repro" });
  const siblingsCopied: number[] = [];
  const child = RunnableLambda.from((index: number, config?: RunnableConfig) => {
    const runId = (config?.callbacks as CallbackManager | undefined)?.getParentRunId();
    const run = runId ? tracer.getRun(runId) : undefined;
    const parentLink = (run as { parent_run?: { child_runs: unknown[] } } | undefined)?.parent_run;
    siblingsCopied.push(parentLink?.child_runs.length ?? -1);
    return index;
  }).withConfig({ runName: "child" });
  const parent = RunnableLambda.from(async (count: number, config?: RunnableConfig) => {
    for (let index = 0; index < count; index += 1) await child.invoke(index, config);
    return count;
  }).withConfig({ runName: "parent" });

  built = 0;
  const wall = performance.now();
  const cpu = process.cpuUsage();
  await parent.invoke(children, { callbacks: [tracer] });
  const used = process.cpuUsage(cpu);
  const wallMs = performance.now() - wall;
  const runTrees = built;
  await client.awaitPendingTraceBatches();
  const cpuMs = (used.user + used.system) / 1000;
  return { wallMs, cpuMs, runTrees, lastChildCopies: siblingsCopied.at(-1) ?? -1 };
}

await traced(20); // warm-up, not measured
console.log(
  "children | siblings in the last child's parent link | RunTrees built | per child | wall ms | CPU ms | CPU µs per child",
);
for (const n of (process.argv[2] ?? "100,250,500,1000").split(",").map(Number)) {
  const { wallMs, cpuMs, runTrees, lastChildCopies } = await traced(n);
  console.log(
    [
      n,
      lastChildCopies,
      runTrees,
      (runTrees / n).toFixed(0),
      wallMs.toFixed(0),
      cpuMs.toFixed(0),
      ((cpuMs * 1000) / n).toFixed(0),
    ].join(" | "),
  );
}
console.log(`peak RSS of the process: ${Math.round(process.resourceUsage().maxRSS / 1024)} MB`);
