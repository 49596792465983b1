/**
 * `npm run bench` (`tsx bench/run.ts`): measures this package as an installed copy gets it (its
 * built `dist/`, through its public API), the LangGraph docs' tutorial graph (baseline) and a
 * plain client with no project code (floor), side by side, one process per run, on the
 * dependencies as installed (it says whether node_modules carries `patches/`; measure unpatched),
 * and writes RESULTS.md, results.json and chart.svg, then prints the targets table on stdout.
 *
 * Flags: `--quick` runs tiny sizes and writes to bench/results-quick/ instead; `--render` rewrites
 * the tables and chart from the last results.json without measuring; `--build` rebuilds dist/
 * even when it looks current (it is rebuilt when any file under src/ is newer); `--uncapped` lets
 * the tutorial graph finish at 10,000 sections (unpatched it takes minutes; by default it is
 * stopped at twice the project's time there, at least 60 s, and reported as stopped).
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { availableParallelism, loadavg } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import type { Measurement, MeasurementResult } from "./measure.js";

const flags = new Set(process.argv.slice(2));
const quick = flags.has("--quick");
const renderOnly = flags.has("--render");
const outDirectory = resolve(quick ? "bench/results-quick" : "bench");
const postgresUrl = process.env.POSTGRES_URL ?? process.env.DATABASE_URL;
const IMPLS = ["project", "baseline", "floor"] as const;
type Impl = (typeof IMPLS)[number];

const sizes = quick
  ? {
      latency: [10, 20],
      latencyConcurrency: 10,
      overhead: [10, 50],
      large: 200,
      limited: 10,
      limit: 2,
      userConcurrency: 10,
      tpm: { n: 10, tokensPerWindow: 800, windowMs: 500 },
      tracing: 20,
      checkpoint: 20,
    }
  : {
      latency: [100, 1000],
      latencyConcurrency: 100,
      overhead: [10, 100, 1000],
      large: 10000,
      limited: 100,
      limit: 10,
      userConcurrency: 50,
      // About 19 sections' tokens a window: the token limit, not latency, sets the pace.
      tpm: { n: 100, tokensPerWindow: 3000, windowMs: 1000 },
      tracing: 500,
      checkpoint: 1000,
    };
const LATENCY_MS = quick ? 20 : 200;
const RUNS = quick ? 1 : 3;
/** The overhead sizes, the large one included (it is measured once, the others `RUNS` times). */
const zeroSizes = [...sizes.overhead, sizes.large];

interface Row extends Partial<MeasurementResult> {
  scenario: string;
  impl: Impl;
  n: number;
  variant?: string;
  error?: string;
  /** Runs this row is the median of (absent: one). */
  runs?: number;
  server?: {
    requests: number;
    rejected: number;
    rateLimited?: number;
    maxInFlight: number;
    tokens?: number;
  };
}

/** What the figures were measured on. */
interface Setup {
  date: string;
  node: string;
  cores: number;
  commit: string;
  /** Files under src/ that differ from the commit (another engineer's work in progress). */
  srcChanges: string[];
  /**
   * "unpatched": every patch the repository carried in patches/ would still apply to node_modules;
   * "patched": some is applied.
   */
  nodeModules: "unpatched" | "patched" | "unknown";
  /** When dist/index.js was built. */
  distBuilt: string;
  loadAverage: { start: number; end?: number };
  durationS?: number;
}

// ---------------------------------------------------------------------------------------------
// Before measuring: what node_modules is, and a current build.

/**
 * Whether node_modules carries the patches this repository carried (patches/, or, once removed,
 * the last committed version of it), found with `git apply --check` without touching anything.
 */
function nodeModulesState(): Setup["nodeModules"] {
  let patches: { name: string; text: string }[];
  if (existsSync("patches")) {
    patches = readdirSync("patches")
      .filter((name) => name.endsWith(".patch"))
      .map((name) => ({ name, text: readFileSync(join("patches", name), "utf8") }));
  } else {
    const removedIn = gitLines(["rev-list", "-1", "HEAD", "--", "patches"])[0];
    if (!removedIn) return "unpatched";
    patches = gitLines(["ls-tree", "--name-only", `${removedIn}^`, "patches/"]).map((path) => ({
      name: path,
      text: execFileSync("git", ["show", `${removedIn}^:${path}`], { encoding: "utf8" }),
    }));
  }
  let unknown = false;
  for (const patch of patches) {
    const applies = (reverse: boolean) =>
      spawnSync("git", ["apply", "--check", ...(reverse ? ["-R"] : [])], {
        input: patch.text,
        stdio: ["pipe", "ignore", "ignore"],
      }).status === 0;
    if (applies(true)) return "patched";
    if (!applies(false)) unknown = true;
  }
  return unknown ? "unknown" : "unpatched";
}

function newestUnder(directory: string): number {
  let newest = 0;
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestUnder(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Builds dist/ (`tsc -p tsconfig.build.json`, what `npm run build` runs) when it is stale. */
function ensureBuilt(): void {
  const entry = "dist/index.js";
  const stale =
    flags.has("--build") ||
    !existsSync(entry) ||
    newestUnder("src") > statSync(entry).mtimeMs ||
    statSync("tsconfig.build.json").mtimeMs > statSync(entry).mtimeMs;
  if (!stale) {
    console.error(`dist/ is current (built ${statSync(entry).mtime.toISOString()})`);
    return;
  }
  console.error("building dist/ (tsc -p tsconfig.build.json) ...");
  const built = spawnSync(
    process.execPath,
    ["node_modules/typescript/bin/tsc", "-p", "tsconfig.build.json"],
    { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" },
  );
  if (built.status !== 0) {
    // tsc still writes its output on type errors (src/ may be mid-edit by someone else).
    console.error(
      `tsc exited ${built.status}:\n${built.stdout.split("\n").slice(0, 10).join("\n")}`,
    );
    if (!existsSync(entry) || newestUnder("src") > statSync(entry).mtimeMs) {
      throw new Error("dist/ could not be built; run `npm run build` and look at its errors");
    }
  }
}

function gitLines(args: string[]): string[] {
  try {
    return execFileSync("git", args, { encoding: "utf8" }).split("\n").filter(Boolean);
  } catch {
    return [];
  }
}

// ---------------------------------------------------------------------------------------------
// Measuring.

/** Starts bench/servers.ts in its own process and returns its URL. */
async function startServer(kind: "model" | "receiver", options: object = {}) {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "bench/servers.ts", kind, JSON.stringify(options)],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const line = await new Promise<string>((done, fail) => {
    const lines = createInterface({ input: child.stdout });
    lines.once("line", done);
    child.once("exit", () => fail(new Error(`${kind} server exited`)));
  });
  const { url } = JSON.parse(line) as { url: string };
  return { url, stop: () => stop(child) };
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((done) => {
    child.once("exit", () => done());
    child.kill("SIGTERM");
  });
}

/** The environment a measured process starts from: none of the caller's model or tracing settings. */
function cleanEnvironment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined) continue;
    if (/^(OPENAI_|LANGSMITH_|LANGCHAIN_|ANTHROPIC_|OLLAMA_)/.test(name)) continue;
    if (name === "POSTGRES_URL" || name === "DATABASE_URL") continue;
    env[name] = value;
  }
  return { ...env, LANGSMITH_TRACING: "false" };
}

/** Peak RSS of a running process (VmHWM), in MB. */
function peakRssMB(pid: number): number | undefined {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Math.round(Number(match[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

/** Runs one measurement in a fresh process; with `spec.deadlineMs`, stops it then. */
async function measure(
  spec: Measurement,
  env: Record<string, string> = {},
): Promise<MeasurementResult | { error: string }> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "bench/measure.ts", JSON.stringify(spec)],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...cleanEnvironment(), ...env } },
  );
  let stdout = "";
  let stderr = "";
  let completed = 0;
  let stopped: MeasurementResult | undefined;
  let deadline: NodeJS.Timeout | undefined;
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  createInterface({ input: child.stderr }).on("line", (line) => {
    if (line === "#started" && spec.deadlineMs) {
      const started = performance.now();
      deadline = setTimeout(() => {
        stopped = {
          wallMs: Math.round(performance.now() - started),
          completed,
          failed: 0,
          stopped: true,
          rssMB: peakRssMB(child.pid!) ?? 0,
        };
        child.kill("SIGKILL");
      }, spec.deadlineMs);
    } else if (line.startsWith("#completed ")) {
      completed = Number(line.slice("#completed ".length));
    } else {
      stderr += `${line}\n`;
    }
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), quick ? 120_000 : 600_000);
  const code = await new Promise<number | null>((done) => child.on("close", done));
  clearTimeout(timer);
  clearTimeout(deadline);
  if (stopped) return stopped;
  const last = stdout.trim().split("\n").pop() ?? "";
  if (code !== 0 || !last.startsWith("{")) {
    return {
      error:
        code === null
          ? "timed out"
          : `exit ${code}: ${stderr.trim().split("\n").slice(-1)[0] ?? ""}`,
    };
  }
  const result = JSON.parse(last) as MeasurementResult;
  return result.error ? { ...result, error: oneLine(result.error) } : result;
}

interface Variant {
  row: Row;
  spec: Measurement | (() => Measurement);
  env?: () => Record<string, string>;
}

/**
 * Rows compared with each other, measured in turns, `runs` rounds of one run each, and recorded
 * as each one's median by wall time: on a shared 2-core machine one run's noise is as large as
 * the differences measured, and taking turns gives every row the same drift. An error in any run
 * is that row's error.
 */
async function measureInTurns(variants: Variant[], runs = RUNS): Promise<void> {
  const results = variants.map((): (MeasurementResult | { error: string })[] => []);
  for (let round = 0; round < runs; round += 1) {
    for (const [index, variant] of variants.entries()) {
      if (results[index]!.some((result) => "error" in result && result.error)) continue;
      const spec = typeof variant.spec === "function" ? variant.spec() : variant.spec;
      const result = await measure(spec, variant.env?.() ?? {});
      results[index]!.push(result);
      log({ ...variant.row, ...result }, `run ${round + 1}/${runs}`);
    }
  }
  for (const [index, variant] of variants.entries()) {
    const failed = results[index]!.find((result) => "error" in result && result.error);
    if (failed) {
      record(variant.row, failed);
      continue;
    }
    const sorted = (results[index] as MeasurementResult[]).sort((a, b) => a.wallMs - b.wallMs);
    record(
      { ...variant.row, ...(runs > 1 ? { runs } : {}) },
      sorted[Math.floor(sorted.length / 2)]!,
    );
  }
}

/**
 * Every implementation against a fresh model server with the given limits (and the bench's
 * latency): one row per implementation, with the server's own counts.
 */
async function againstProvider(
  scenario: string,
  variant: string,
  n: number,
  limits: object,
  concurrency?: number,
): Promise<void> {
  for (const impl of IMPLS) {
    const server = await startServer("model", { latencyMs: LATENCY_MS, n, ...limits });
    const result = await measure({
      impl,
      n,
      source: "http",
      baseURL: server.url,
      ...(concurrency !== undefined ? { concurrency } : {}),
    });
    record({ scenario, impl, n, variant, server: await serverStats(server.url) }, result);
    await server.stop();
  }
}

async function serverStats(url: string) {
  const response = await fetch(url.replace(/\/v1$/, "/stats"));
  return (await response.json()) as Row["server"];
}

function oneLine(text: string): string {
  return text.split("\n")[0]!.trim();
}

function log(row: Row, note = "median") {
  const detail =
    row.error ??
    `${row.stopped ? "stopped after " : ""}${row.wallMs} ms, ${row.completed} done, ${row.failed} failed, ${row.rssMB} MB`;
  console.error(
    `${row.scenario.padEnd(10)} ${String(row.variant ?? "").padEnd(12)} ${row.impl.padEnd(8)} n=${String(row.n).padEnd(6)} ${note.padEnd(8)} ${detail}`,
  );
}

const rows: Row[] = [];
function record(row: Row, result: MeasurementResult | { error: string }): void {
  const full = { ...row, ...result };
  rows.push(full);
  log(full);
}

/** Runs every scenario, each measurement in a fresh process. */
async function measureAll(): Promise<void> {
  // 1. Wall time through the real ChatOpenAI client over HTTP, 200 ms a call, N calls in flight
  //    at once (the project's maxConcurrency, the plain client's maxConcurrency). One server per
  //    size, shared by the runs (it keeps no state a run depends on). "given client": the project
  //    handed the floor's ChatOpenAI instead of building its own, to tell its client's cost from
  //    its graph's.
  const N = sizes.latencyConcurrency;
  for (const n of sizes.latency) {
    const server = await startServer("model", { latencyMs: LATENCY_MS, n });
    const spec = (impl: Impl, client?: "given"): Measurement => ({
      impl,
      n,
      source: "http",
      baseURL: server.url,
      concurrency: N,
      ...(client ? { client } : {}),
    });
    await measureInTurns([
      ...IMPLS.map((impl) => ({ row: { scenario: "latency", impl, n }, spec: spec(impl) })),
      {
        row: { scenario: "latency", impl: "project" as const, n, variant: "given client" },
        spec: spec("project", "given"),
      },
    ]);
    await server.stop();
  }

  // 2. Orchestration overhead and peak memory with the bench's zero-latency model, in process;
  //    the project with its default configuration (maxConcurrency 10).
  for (const n of sizes.overhead) {
    await measureInTurns(
      IMPLS.map((impl) => ({
        row: { scenario: "overhead", impl, n },
        spec: { impl, n, source: "scripted" } as const,
      })),
    );
  }
  // The large plan once each; the tutorial graph stopped at twice the project's time.
  await measureInTurns(
    (["floor", "project"] as const).map((impl) => ({
      row: { scenario: "overhead", impl, n: sizes.large },
      spec: { impl, n: sizes.large, source: "scripted" } as const,
    })),
    1,
  );
  const projectLarge = find("overhead", "project", sizes.large)?.wallMs;
  await measureInTurns(
    [
      {
        row: { scenario: "overhead", impl: "baseline", n: sizes.large },
        spec: {
          impl: "baseline",
          n: sizes.large,
          source: "scripted",
          ...(flags.has("--uncapped") || !projectLarge
            ? {}
            : { deadlineMs: Math.max(quick ? 10_000 : 60_000, 2 * projectLarge) }),
        },
      },
    ],
    1,
  );

  // 3. A provider that allows only k concurrent requests and answers 429 beyond: the defaults
  //    (maxConcurrency 10), then maxConcurrency raised (3b). One fresh server per run.
  await againstProvider("limited", `k=${sizes.limit}`, sizes.limited, { limit: sizes.limit });
  await againstProvider(
    "limited",
    `k=${sizes.limit},c=${sizes.userConcurrency}`,
    sizes.limited,
    { limit: sizes.limit },
    sizes.userConcurrency,
  );
  // 3c. A provider with a tokens-per-window limit, x-ratelimit-* headers on every answer and
  //     retry-after on its 429s; the user's maxConcurrency as in 3b.
  await againstProvider(
    "tpm",
    "tpm",
    sizes.tpm.n,
    { tokensPerMinute: sizes.tpm.tokensPerWindow, windowMs: sizes.tpm.windowMs },
    sizes.userConcurrency,
  );

  // 4. Tracing to a local LangSmith stand-in, against no tracing, zero-latency model.
  const receiver = await startServer("receiver");
  const traced = () => ({
    LANGSMITH_TRACING: "true",
    LANGSMITH_ENDPOINT: receiver.url,
    LANGSMITH_API_KEY: "bench",
  });
  const n = sizes.tracing;
  await measureInTurns(
    IMPLS.flatMap((impl) => [
      {
        row: { scenario: "tracing", impl, n, variant: "off" },
        spec: { impl, n, source: "scripted" } as const,
      },
      {
        row: { scenario: "tracing", impl, n, variant: "on" },
        spec: { impl, n, source: "scripted" } as const,
        env: traced,
      },
    ]),
  );
  await receiver.stop();

  // 5. Checkpointer overhead (the public checkpointer packages, passed to buildGraph), with the
  //    floor at the same size.
  const m = sizes.checkpoint;
  await measureInTurns([
    ...(["none", "memory", "sqlite", ...(postgresUrl ? ["postgres" as const] : [])] as const).map(
      (checkpointer) => ({
        row: { scenario: "checkpoint", impl: "project" as const, n: m, variant: checkpointer },
        spec: { impl: "project", n: m, source: "scripted", checkpointer } as const,
        env: (): Record<string, string> => (postgresUrl ? { POSTGRES_URL: postgresUrl } : {}),
      }),
    ),
    {
      row: { scenario: "checkpoint", impl: "floor", n: m },
      spec: { impl: "floor", n: m, source: "scripted" },
    },
  ]);
}

// ---------------------------------------------------------------------------------------------
// Main.

let setup: Setup;
const began = performance.now();
if (renderOnly) {
  // Re-render the tables and chart from the last results.json, without measuring again.
  const saved = JSON.parse(await readFile(join(outDirectory, "results.json"), "utf8")) as {
    setup: Setup;
    rows: Row[];
  };
  setup = saved.setup;
  rows.push(...saved.rows.map((row) => (row.error ? { ...row, error: oneLine(row.error) } : row)));
} else {
  const nodeModules = nodeModulesState();
  if (nodeModules !== "unpatched") {
    console.error(
      `warning: node_modules is ${nodeModules} (patches/ ${nodeModules === "patched" ? "applied" : "in an unknown state"}): these are not the unpatched figures an installed package gets`,
    );
  }
  ensureBuilt();
  setup = {
    date: new Date().toISOString(),
    node: process.version,
    cores: availableParallelism(),
    commit: gitLines(["rev-parse", "--short", "HEAD"])[0] ?? "unknown",
    srcChanges: gitLines(["status", "--porcelain", "--", "src"]).map((line) => line.slice(3)),
    nodeModules,
    distBuilt: statSync("dist/index.js").mtime.toISOString(),
    loadAverage: { start: Math.round(100 * loadavg()[0]!) / 100 },
  };
  await measureAll();
  setup.loadAverage.end = Math.round(100 * loadavg()[0]!) / 100;
  setup.durationS = Math.round((performance.now() - began) / 1000);
}

await mkdir(outDirectory, { recursive: true });
await writeFile(
  join(outDirectory, "results.json"),
  `${JSON.stringify({ latencyMs: LATENCY_MS, setup, rows }, null, 2)}\n`,
);
await writeFile(join(outDirectory, "RESULTS.md"), renderMarkdown());
await writeFile(join(outDirectory, "chart.svg"), renderChart());
console.error(`wrote ${join(outDirectory, "RESULTS.md")}, results.json and chart.svg`);
if (setup.durationS) console.error(`measured in ${setup.durationS} s`);
console.log([...setupLines(), "", ...renderTargets()].join("\n"));

// ---------------------------------------------------------------------------------------------
// Rendering.

function find(scenario: string, impl: Impl, n: number, variant?: string): Row | undefined {
  return rows.find(
    (row) =>
      row.scenario === scenario && row.impl === impl && row.n === n && row.variant === variant,
  );
}

function ok(row: Row | undefined): row is Row & { wallMs: number } {
  return row?.wallMs !== undefined && !row.error;
}

function ms(row: Row | undefined): string {
  if (!row) return "–";
  if (row.error) return `error (${row.error})`;
  if (row.stopped) {
    return `> ${row.wallMs} ms (stopped, ${row.completed!.toLocaleString("en-US")} of ${row.n.toLocaleString("en-US")} done)`;
  }
  return `${row.wallMs} ms`;
}

function seconds(value: number): string {
  return `${(value / 1000).toFixed(2)} s`;
}

function ratio(a: Row | undefined, b: Row | undefined): string {
  if (!ok(a) || !ok(b) || b.wallMs === 0) return "–";
  const bound = a.stopped ? ">" : b.stopped ? "<" : "";
  return `${bound}${(a.wallMs / b.wallMs).toFixed(2)}x`;
}

function mb(row: Row | undefined): string {
  return row?.rssMB ? `${row.stopped ? ">= " : ""}${row.rssMB} MB` : "–";
}

/** The critical path at n sections with N in flight: the planner, then ceil(n / N) waves. */
function criticalPathMs(n: number): number {
  return LATENCY_MS + Math.ceil(n / sizes.latencyConcurrency) * LATENCY_MS;
}

function setupLines(): string[] {
  const changes = setup.srcChanges.length
    ? `, with uncommitted changes in ${setup.srcChanges.join(", ")}`
    : "";
  return [
    `Measured ${setup.date.slice(0, 16).replace("T", " ")} UTC on commit ${setup.commit}${changes} (dist/ built ${setup.distBuilt.slice(0, 16).replace("T", " ")}), Node ${setup.node}, ${setup.cores} cores, node_modules **${setup.nodeModules}**${setup.nodeModules === "unpatched" ? " (none of the patches once carried in patches/ applied)" : ": NOT the figures an installed package gets"}; load average ${setup.loadAverage.start} at the start, ${setup.loadAverage.end ?? "?"} at the end (other work on this shared machine moves every figure)${setup.durationS ? `; ${Math.round(setup.durationS / 60)} minutes` : ""}.`,
  ];
}

interface Target {
  what: string;
  target: string;
  measure: () => { value: string; met: boolean } | undefined;
}

function targetLines(title: string, targets: Target[]): string[] {
  const lines = [title, "", "| what | measured | target | |", "| --- | ---: | ---: | --- |"];
  for (const target of targets) {
    const result = target.measure();
    const verdict = result === undefined ? "" : result.met ? "met" : "missed: see bench/NOTES.md";
    lines.push(
      `| ${target.what} | ${result?.value ?? "not measured in this run"} | ${target.target} | ${verdict} |`,
    );
  }
  return lines;
}

/** Issue 22's targets, and issue 16's for the rows issue 22 keeps, against this run's rows. */
function renderTargets(): string[] {
  const N = sizes.latencyConcurrency;
  const [small, big] = [sizes.latency[0]!, sizes.latency[sizes.latency.length - 1]!];
  const latency = (n: number, most: number): Target => ({
    what: `real ChatOpenAI over HTTP, ${LATENCY_MS} ms a call, concurrency ${N}, ${n.toLocaleString("en-US")} sections: project / floor`,
    target: `<= ${most}x`,
    measure: () => {
      const p = find("latency", "project", n);
      const f = find("latency", "floor", n);
      if (!ok(p) || !ok(f)) return undefined;
      return {
        value: `${ratio(p, f)} (${p.wallMs} / ${f.wallMs} ms)`,
        met: p.wallMs / f.wallMs <= most,
      };
    },
  });
  const faster = (scenario: string, n: number, label: string): Target => ({
    what: `faster than the tutorial graph: ${label}, ${n.toLocaleString("en-US")} sections (project / baseline)`,
    target: "< 1x",
    measure: () => {
      const p = find(scenario, "project", n);
      const b = find(scenario, "baseline", n);
      if (!ok(p) || !b) return undefined;
      if (b.error) return { value: `${p.wallMs} ms; baseline failed (${b.error})`, met: true };
      if (!ok(b)) return undefined;
      return {
        value: `${ratio(p, b)} (${p.wallMs} / ${b.stopped ? "> " : ""}${b.wallMs} ms)`,
        met: p.wallMs < b.wallMs,
      };
    },
  });
  const large = sizes.large;
  const issue22: Target[] = [
    latency(small, 1.05),
    latency(big, 1.3),
    {
      what: `zero-latency model, ${large.toLocaleString("en-US")} sections: overhead over the floor, peak RSS`,
      target: "< 8 s, < 400 MB",
      measure: () => {
        const p = find("overhead", "project", large);
        const f = find("overhead", "floor", large);
        if (!ok(p) || !ok(f)) return undefined;
        const over = p.wallMs - f.wallMs;
        return {
          value: `${seconds(over)}, ${p.rssMB} MB`,
          met: over < 8000 && (p.rssMB ?? Infinity) < 400,
        };
      },
    },
    ...sizes.latency.map((n) => faster("latency", n, `HTTP ${LATENCY_MS} ms`)),
    ...zeroSizes.map((n) => faster("overhead", n, "zero-latency")),
    {
      what: `traced / untraced, zero-latency model, ${sizes.tracing} sections (project; baseline for comparison)`,
      target: "<= 2x",
      measure: () => {
        const off = find("tracing", "project", sizes.tracing, "off");
        const on = find("tracing", "project", sizes.tracing, "on");
        if (!ok(off) || !ok(on)) return undefined;
        const b = ratio(
          find("tracing", "baseline", sizes.tracing, "on"),
          find("tracing", "baseline", sizes.tracing, "off"),
        );
        return {
          value: `${ratio(on, off)} (${on.wallMs} / ${off.wallMs} ms; baseline ${b})`,
          met: on.wallMs / off.wallMs <= 2,
        };
      },
    },
  ];
  const ideal = LATENCY_MS + Math.ceil(sizes.limited / sizes.limit) * LATENCY_MS;
  const issue16: Target[] = [
    {
      what: `provider allowing ${sizes.limit} concurrent requests, maxConcurrency ${sizes.userConcurrency}: failed, share of ideal, 429s (project)`,
      target: "0 failed, >= 90%, few 429s",
      measure: () => {
        const row = find(
          "limited",
          "project",
          sizes.limited,
          `k=${sizes.limit},c=${sizes.userConcurrency}`,
        );
        if (!ok(row)) return undefined;
        const share = ideal / row.wallMs;
        return {
          value: `${row.failed} failed, ${(100 * share).toFixed(1)}%, ${row.server?.rejected ?? "?"} 429s`,
          met: row.failed === 0 && share >= 0.9,
        };
      },
    },
    {
      what: "provider with a tokens-per-window limit: failed, 429s (project)",
      target: "0 failed",
      measure: () => {
        const row = find("tpm", "project", sizes.tpm.n, "tpm");
        if (!ok(row)) return undefined;
        return {
          value: `${row.failed} failed, ${row.server?.rateLimited ?? "?"} 429s`,
          met: row.failed === 0,
        };
      },
    },
    {
      what: `PostgreSQL checkpointer at ${sizes.checkpoint.toLocaleString("en-US")} sections, over none`,
      target: "<= +30%",
      measure: () => {
        const none = find("checkpoint", "project", sizes.checkpoint, "none");
        const pg = find("checkpoint", "project", sizes.checkpoint, "postgres");
        if (!ok(none) || !ok(pg)) return undefined;
        const more = pg.wallMs / none.wallMs - 1;
        return { value: `+${Math.round(100 * more)}%`, met: more <= 0.3 };
      },
    },
  ];
  return [
    ...targetLines("## Targets (issue 22)", issue22),
    "",
    ...targetLines("## The kept rows' targets (issue 16)", issue16),
  ];
}

function renderMarkdown(): string {
  const N = sizes.latencyConcurrency;
  const lines: string[] = [
    "# Benchmark results",
    "",
    `Written by \`npm run bench${quick ? " -- --quick" : ""}\`. ${setupLines()[0]}`,
    "",
    `- **project**: this package as an installed copy gets it: imported by its name (\`orchestrator-workers\`, which package.json's \`exports\` resolve to the built \`dist/index.js\`), public API only (\`buildGraph\`), its default configuration unless a row says otherwise (maxConcurrency 10, maxRetries 3). Over HTTP it builds its own \`ChatOpenAI\` clients from \`OPENAI_BASE_URL\` / \`OPENAI_API_KEY\`, as the CLI does; with the zero-latency model it is handed that model (\`buildGraph({ model })\`).`,
    "- **baseline**: the LangGraph docs' orchestrator-worker tutorial graph (`bench/baseline/graph.ts`), around the floor's client or the same zero-latency model.",
    "- **floor**: no project code: `@langchain/openai`'s `ChatOpenAI` (`gpt-4.1-mini`, `maxRetries: 3`, `timeout: 120000`, `maxConcurrency` the row's N, else 10), one planner call through `withStructuredOutput` of a plain zod schema, then every section call under `Promise.allSettled`; or the same calls to the zero-latency model.",
    "- **zero-latency model**: `bench/zero-latency-model.ts`, one `BaseChatModel` subclass the three share, which answers at once (the plan as a tool call, a one-line section text otherwise).",
    "",
    `Each cell is a run in a fresh process, timed from the start of the run (the graph's \`stream\` call, or the floor's first model call; after imports and compiling) until the output is in and callbacks (traces) are flushed. Rows compared with each other are measured in turns, ${quick ? "one run each" : `median of ${RUNS}`}; the ${sizes.large.toLocaleString("en-US")}-section rows and the rows against the limited providers are one run each. A row the bench stopped (the tutorial graph at ${sizes.large.toLocaleString("en-US")} sections, unless \`-- --uncapped\`) shows how long it ran and how far it got.`,
    "",
    ...renderTargets(),
    "",
    `## Real ChatOpenAI over HTTP (${LATENCY_MS} ms a request, ${N} requests in flight)`,
    "",
    `Critical path: the planner call, then ceil(sections / ${N}) waves of section calls. **project (given client)** is the project handed the floor's own \`ChatOpenAI\` (\`buildGraph({ model })\`) instead of building its clients: the difference to **project** is its client's cost (its limiter, request timeout and error-body handling), the difference to **floor** its graph's.`,
    "",
    "| sections | project | project (given client) | baseline | floor | project / floor | given client / floor | baseline / floor | critical path | first section (project / baseline / floor) |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const n of sizes.latency) {
    const [p, b, f] = IMPLS.map((impl) => find("latency", impl, n));
    const g = find("latency", "project", n, "given client");
    lines.push(
      `| ${n} | ${ms(p)} | ${ms(g)} | ${ms(b)} | ${ms(f)} | ${ratio(p, f)} | ${ratio(g, f)} | ${ratio(b, f)} | ${criticalPathMs(n)} ms | ${[p, b, f].map((row) => (row?.firstSectionMs === undefined ? "–" : `${row.firstSectionMs} ms`)).join(" / ")} |`,
    );
  }
  lines.push(
    "",
    "## Orchestration overhead and peak memory (zero-latency model, in process)",
    "",
    "Overhead: wall time minus the floor's at the same size. Peak RSS: the process's maxRSS (Node, the libraries and the run).",
    "",
    "| sections | project | baseline | floor | project overhead | baseline overhead | project / baseline | peak RSS (project / baseline / floor) |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  for (const n of zeroSizes) {
    const [p, b, f] = IMPLS.map((impl) => find("overhead", impl, n));
    const over = (row: Row | undefined) =>
      !ok(row) || !ok(f) ? "–" : `${row.stopped ? "> " : ""}${seconds(row.wallMs - f.wallMs)}`;
    lines.push(
      `| ${n.toLocaleString("en-US")} | ${ms(p)} | ${ms(b)} | ${ms(f)} | ${over(p)} | ${over(b)} | ${ratio(p, b)} | ${[p, b, f].map(mb).join(" / ")} |`,
    );
  }
  const limitedN = sizes.limited;
  const ideal = LATENCY_MS + Math.ceil(limitedN / sizes.limit) * LATENCY_MS;
  lines.push(
    "",
    `## A provider that allows ${sizes.limit} concurrent requests and answers 429 beyond (${limitedN} sections, ${LATENCY_MS} ms)`,
    "",
    `Ideal wall time: planner + ceil(N/k) x latency = ${ideal} ms. The project's clients' concurrency is adaptive (\`src/models/adaptive-concurrency.ts\`): it starts at maxConcurrency, lowers it on 429s or rate-limit headers that say the window is spent, and climbs back while requests succeed, within maxConcurrency. The floor and the baseline use the plain \`ChatOpenAI\` with \`maxConcurrency\` set to the same number and \`maxRetries: 3\`; LangChain core retries a 429 only when it names a \`retry-after\`, and this server's do not, so the plain client fails every request refused (the tutorial graph then fails the run).`,
    "",
    "| | maxConcurrency | wall | sections written | failed | 429s from the server | share of ideal throughput |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  for (const [variant, setting] of [
    [`k=${sizes.limit}`, "10 (default)"],
    [`k=${sizes.limit},c=${sizes.userConcurrency}`, String(sizes.userConcurrency)],
  ] as const) {
    for (const impl of IMPLS) {
      const row = find("limited", impl, limitedN, variant);
      lines.push(
        `| ${impl} | ${setting} | ${ms(row)} | ${row?.completed ?? "–"} | ${row?.failed ?? "–"} | ${row?.server?.rejected ?? "–"} | ${ok(row) && !row.failed ? `${Math.round((100 * ideal) / row.wallMs)}%` : "–"} |`,
      );
    }
  }
  const { n: tpmN, tokensPerWindow, windowMs } = sizes.tpm;
  lines.push(
    "",
    `## A provider with a token limit per window (${tokensPerWindow} tokens per ${windowMs} ms window, ${tpmN} sections, ${LATENCY_MS} ms, maxConcurrency ${sizes.userConcurrency})`,
    "",
    "The server charges a request's prompt tokens when it arrives and its answer's when it answers, sends `x-ratelimit-*` on every answer and `retry-after` on its 429s. Share of the limit: tokens served / (limit x wall time / window); the fixed windows start at the first request, so a last window used only in part counts against it. The project's prompts are longer than the floor's and the tutorial's, so it has more tokens to serve.",
    "",
    "| | wall | sections written | failed | 429s from the server | tokens served | share of the token limit |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  for (const impl of IMPLS) {
    const row = find("tpm", impl, tpmN, "tpm");
    const tokens = row?.server?.tokens;
    const share =
      ok(row) && tokens
        ? `${Math.round((100 * tokens) / ((tokensPerWindow * row.wallMs) / windowMs))}%`
        : "–";
    lines.push(
      `| ${impl} | ${ms(row)} | ${row?.completed ?? "–"} | ${row?.failed ?? "–"} | ${row?.server?.rateLimited ?? "–"} | ${tokens ?? "–"} | ${share} |`,
    );
  }
  const t = sizes.tracing;
  lines.push(
    "",
    `## Tracing to a local LangSmith stand-in (zero-latency model, ${t} sections, until traces are sent)`,
    "",
    "| | off | on | on / off | peak RSS on |",
    "| --- | ---: | ---: | ---: | ---: |",
  );
  for (const impl of IMPLS) {
    const off = find("tracing", impl, t, "off");
    const on = find("tracing", impl, t, "on");
    lines.push(`| ${impl} | ${ms(off)} | ${ms(on)} | ${ratio(on, off)} | ${mb(on)} |`);
  }
  const c = sizes.checkpoint;
  const none = find("checkpoint", "project", c, "none");
  const withSaver = (variant: string) => {
    const row = find("checkpoint", "project", c, variant);
    return ok(row) && ok(none)
      ? `${ms(row)} (+${Math.round(100 * (row.wallMs / none.wallMs - 1))}%)`
      : ms(row);
  };
  lines.push(
    "",
    `## Checkpointers (project, zero-latency model, ${c.toLocaleString("en-US")} sections)`,
    "",
    "The public checkpointer packages passed to `buildGraph({ checkpointer })`: `MemorySaver`, `SqliteSaver.fromConnString(file)`, `PostgresSaver.fromConnString(POSTGRES_URL)`. The CLI's run store (leases, one-statement PostgreSQL writes) is not public API and is not measured here.",
    "",
    "| none | MemorySaver | SQLite | PostgreSQL | floor |",
    "| ---: | ---: | ---: | ---: | ---: |",
    `| ${ms(none)} | ${withSaver("memory")} | ${withSaver("sqlite")} | ${postgresUrl || find("checkpoint", "project", c, "postgres") ? withSaver("postgres") : "not run (no POSTGRES_URL)"} | ${ms(find("checkpoint", "floor", c))} |`,
    "",
    "![wall time against plan size, zero-latency model](chart.svg)",
    "",
  );
  return lines.join("\n");
}

/** A log-log SVG chart: wall time against plan size with the zero-latency model, one line each. */
function renderChart(): string {
  const width = 640;
  const height = 360;
  const margin = { left: 70, right: 120, top: 30, bottom: 50 };
  const series = IMPLS.map((impl) => ({
    impl,
    points: zeroSizes.flatMap((n) => {
      const row = find("overhead", impl, n);
      return ok(row) && row.wallMs > 0 ? [{ n, ms: row.wallMs, stopped: !!row.stopped }] : [];
    }),
  }));
  const values = series.flatMap((line) => line.points.map((point) => point.ms));
  const logMinY = Math.floor(Math.log10(Math.max(1, Math.min(...values, 10))));
  const logMaxY = Math.ceil(Math.log10(Math.max(...values, 10)));
  const logMinX = Math.log10(Math.min(...zeroSizes));
  const logMaxX = Math.log10(Math.max(...zeroSizes));
  const x = (n: number) =>
    margin.left +
    ((Math.log10(n) - logMinX) / Math.max(logMaxX - logMinX, 1)) *
      (width - margin.left - margin.right);
  const y = (value: number) =>
    height -
    margin.bottom -
    ((Math.log10(value) - logMinY) / Math.max(logMaxY - logMinY, 1)) *
      (height - margin.top - margin.bottom);
  const colors: Record<Impl, string> = {
    project: "#2563eb",
    baseline: "#dc2626",
    floor: "#6b7280",
  };
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="18" text-anchor="middle" font-size="14">Wall time, zero-latency model (log-log; open circle: stopped, at least this)</text>`,
    `<line x1="${margin.left}" y1="${height - margin.bottom}" x2="${width - margin.right}" y2="${height - margin.bottom}" stroke="black"/>`,
    `<line x1="${margin.left}" y1="${height - margin.bottom}" x2="${margin.left}" y2="${margin.top}" stroke="black"/>`,
  ];
  for (let power = logMinY; power <= logMaxY; power += 1) {
    const value = 10 ** power;
    const label = value >= 1000 ? `${value / 1000} s` : `${value} ms`;
    parts.push(
      `<line x1="${margin.left}" y1="${y(value)}" x2="${width - margin.right}" y2="${y(value)}" stroke="#e5e7eb"/>`,
      `<text x="${margin.left - 8}" y="${y(value) + 4}" text-anchor="end">${label}</text>`,
    );
  }
  for (const n of zeroSizes) {
    parts.push(
      `<text x="${x(n)}" y="${height - margin.bottom + 18}" text-anchor="middle">${n.toLocaleString("en-US")}</text>`,
    );
  }
  parts.push(
    `<text x="${(margin.left + width - margin.right) / 2}" y="${height - 12}" text-anchor="middle">sections</text>`,
  );
  series.forEach((line, index) => {
    const path = line.points.map((point) => `${x(point.n)},${y(point.ms)}`).join(" ");
    parts.push(
      `<polyline points="${path}" fill="none" stroke="${colors[line.impl]}" stroke-width="2"/>`,
    );
    for (const point of line.points) {
      parts.push(
        `<circle cx="${x(point.n)}" cy="${y(point.ms)}" r="4" fill="${point.stopped ? "white" : colors[line.impl]}" stroke="${colors[line.impl]}" stroke-width="2"/>`,
      );
    }
    parts.push(
      `<text x="${width - margin.right + 10}" y="${margin.top + 20 + index * 18}" fill="${colors[line.impl]}">${line.impl}</text>`,
    );
  });
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}
