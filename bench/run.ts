/**
 * `npm run bench`: measures this project's graph, the LangGraph docs' tutorial graph (baseline)
 * and a plain Promise.all over the same model calls (floor), side by side, one process per run,
 * and writes RESULTS.md, results.json and chart.svg. `--quick` runs tiny sizes (CI keeps the
 * benchmark working with it) and writes to bench/results-quick/ instead; `--render` rewrites the
 * tables and chart from the last results.json without measuring.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import type { Measurement, MeasurementResult } from "./measure.js";

const quick = process.argv.includes("--quick");
const renderOnly = process.argv.includes("--render");
const outDirectory = resolve(quick ? "bench/results-quick" : "bench");
const postgresUrl = process.env.POSTGRES_URL ?? process.env.DATABASE_URL;
const IMPLS = ["project", "baseline", "floor"] as const;
type Impl = (typeof IMPLS)[number];

const sizes = quick
  ? {
      latency: [5],
      overhead: [20],
      limited: 10,
      limit: 2,
      userConcurrency: 10,
      tpm: { n: 10, tokensPerWindow: 800, windowMs: 500 },
      tracing: [10],
      checkpoint: [10],
    }
  : {
      latency: [10, 100, 1000],
      overhead: [100, 1000, 5000, 10000],
      limited: 100,
      limit: 10,
      userConcurrency: 50,
      // About 19 sections' tokens a window: the token limit, not latency, sets the pace.
      tpm: { n: 100, tokensPerWindow: 3000, windowMs: 1000 },
      tracing: [100, 1000],
      checkpoint: [100, 1000],
    };
const LATENCY_MS = quick ? 20 : 200;

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

/** Starts bench/servers.ts in its own process and returns its URL. */
async function startServer(kind: "model" | "receiver", options: object = {}) {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "bench/servers.ts", kind, JSON.stringify(options)],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
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

/**
 * Every implementation against a model server with the given limits (and the bench's latency),
 * each in a fresh server: one row per implementation, with the server's own counts.
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

/** Runs one measurement in a fresh process. */
async function measure(
  spec: Measurement,
  env: Record<string, string> = {},
): Promise<MeasurementResult | { error: string }> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "bench/measure.ts", JSON.stringify(spec)],
    {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, LANGSMITH_TRACING: "false", ...env },
    },
  );
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), quick ? 120_000 : 600_000);
  const code = await new Promise<number | null>((done) => child.on("close", done));
  clearTimeout(timer);
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

/**
 * Rows compared with each other (the implementations at one size, tracing off and on, the
 * checkpointers), measured in turns, `runs` rounds of one run each, and recorded as each one's
 * median by wall time: on a shared 2-core machine one run's noise is as large as the differences
 * measured, and taking turns gives every row the same drift. An error in any run is that row's
 * error.
 */
async function measureInTurns(
  variants: { row: Row; spec: Measurement; env?: () => Record<string, string> }[],
  runs = quick ? 1 : 3,
): Promise<void> {
  const results = variants.map((): (MeasurementResult | { error: string })[] => []);
  for (let round = 0; round < runs; round += 1) {
    for (const [index, variant] of variants.entries()) {
      if (results[index]!.some((result) => "error" in result && result.error)) continue;
      results[index]!.push(await measure(variant.spec, variant.env?.() ?? {}));
    }
  }
  for (const [index, variant] of variants.entries()) {
    const failed = results[index]!.find((result) => "error" in result && result.error);
    if (failed) {
      record(variant.row, failed);
      continue;
    }
    const sorted = (results[index] as MeasurementResult[]).sort((a, b) => a.wallMs - b.wallMs);
    record({ ...variant.row, runs }, sorted[Math.floor(sorted.length / 2)]!);
  }
}

async function serverStats(url: string) {
  const response = await fetch(url.replace(/\/v1$/, "/stats"));
  return (await response.json()) as Row["server"];
}

function oneLine(text: string): string {
  return text.split("\n")[0]!.trim();
}

function log(row: Row) {
  const detail =
    row.error ?? `${row.wallMs} ms, ${row.completed} done, ${row.failed} failed, ${row.rssMB} MB`;
  console.error(
    `${row.scenario.padEnd(12)} ${String(row.variant ?? "").padEnd(9)} ${row.impl.padEnd(9)} n=${String(row.n).padEnd(6)} ${detail}`,
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
  // 1. Wall time against the critical path, through the real ChatOpenAI client over HTTP, with the
  //    fan-out's concurrency limit raised to N.
  for (const n of sizes.latency) {
    for (const impl of IMPLS) {
      const server = await startServer("model", { latencyMs: LATENCY_MS, n });
      const result = await measure({
        impl,
        n,
        source: "http",
        baseURL: server.url,
        concurrency: n,
      });
      record({ scenario: "latency", impl, n, server: await serverStats(server.url) }, result);
      await server.stop();
    }
  }

  // 2. Orchestration overhead and peak memory with a scripted zero-latency model, in process.
  for (const n of sizes.overhead) {
    await measureInTurns(
      IMPLS.map((impl) => ({
        row: { scenario: "overhead", impl, n },
        spec: { impl, n, source: "scripted" } as const,
      })),
    );
  }

  // 3. A provider that allows only k concurrent requests and answers 429 beyond; defaults otherwise.
  await againstProvider("limited", `k=${sizes.limit}`, sizes.limited, { limit: sizes.limit });
  // 3b. The same provider, and a user who raises maxConcurrency well past what it allows.
  await againstProvider(
    "limited",
    `k=${sizes.limit},c=${sizes.userConcurrency}`,
    sizes.limited,
    { limit: sizes.limit },
    sizes.userConcurrency,
  );
  // 3c. A provider with a tokens-per-minute limit (a short window), x-ratelimit-* headers on every
  //     answer and retry-after on its 429s; the user's maxConcurrency as in 3b.
  await againstProvider(
    "tpm",
    "tpm",
    sizes.tpm.n,
    { tokensPerMinute: sizes.tpm.tokensPerWindow, windowMs: sizes.tpm.windowMs },
    sizes.userConcurrency,
  );

  // 4. Tracing to a local LangSmith stand-in, against no tracing.
  const receiver = await startServer("receiver");
  const traced = () => ({
    LANGSMITH_TRACING: "true",
    LANGSMITH_ENDPOINT: receiver.url,
    LANGSMITH_API_KEY: "bench",
  });
  for (const n of sizes.tracing) {
    await measureInTurns(
      (["project", "baseline"] as const).flatMap((impl) => [
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
  }
  await receiver.stop();

  // 5. Checkpointer overhead.
  for (const n of sizes.checkpoint) {
    await measureInTurns(
      (["none", "sqlite", ...(postgresUrl ? ["postgres" as const] : [])] as const).map(
        (checkpointer) => ({
          row: { scenario: "checkpoint", impl: "project" as const, n, variant: checkpointer },
          spec: { impl: "project", n, source: "scripted", checkpointer } as const,
          env: (): Record<string, string> => (postgresUrl ? { POSTGRES_URL: postgresUrl } : {}),
        }),
      ),
    );
  }
}

if (renderOnly) {
  // Re-render the tables and chart from the last results.json, without measuring again.
  const saved = JSON.parse(await readFile(join(outDirectory, "results.json"), "utf8")) as {
    rows: Row[];
  };
  rows.push(...saved.rows.map((row) => (row.error ? { ...row, error: oneLine(row.error) } : row)));
} else {
  await measureAll();
}

await mkdir(outDirectory, { recursive: true });
const criticalPathMs = 2 * LATENCY_MS;
await writeFile(
  join(outDirectory, "results.json"),
  `${JSON.stringify({ latencyMs: LATENCY_MS, criticalPathMs, rows }, null, 2)}\n`,
);
await writeFile(join(outDirectory, "RESULTS.md"), renderMarkdown());
await writeFile(join(outDirectory, "chart.svg"), renderChart());
console.error(`wrote ${join(outDirectory, "RESULTS.md")}, results.json and chart.svg`);

function find(scenario: string, impl: Impl, n: number, variant?: string): Row | undefined {
  return rows.find(
    (row) =>
      row.scenario === scenario && row.impl === impl && row.n === n && row.variant === variant,
  );
}

function ms(row: Row | undefined): string {
  if (!row) return "–";
  return row.error ? `error (${row.error})` : `${row.wallMs} ms`;
}

function ratio(a: number | undefined, b: number | undefined): string {
  return a === undefined || b === undefined || b === 0 ? "–" : `${(a / b).toFixed(2)}x`;
}

/**
 * Issue 16's targets, each against this run's rows: the measured value, the target, and whether
 * it is met (or where bench/NOTES.md explains the miss). A row this run did not measure says so.
 */
function renderTargets(): string[] {
  // Where bench/NOTES.md explains a target this run missed.
  const MISS_NOTES: Record<string, string> = {
    tracing: "§10",
    overhead: "§11",
    latency: "§11",
    checkpoint: "§9",
    limited: "§11",
    tpm: "§11",
  };
  const targets: {
    scenario: string;
    what: string;
    target: string;
    measure: () => { value: string; met: boolean } | undefined;
  }[] = [];
  const traced = (n: number, most: number, mostMB?: number) => () => {
    const off = find("tracing", "project", n, "off");
    const on = find("tracing", "project", n, "on");
    if (!off?.wallMs || !on?.wallMs) return undefined;
    const times = on.wallMs / off.wallMs;
    return {
      value: `${times.toFixed(2)}x${mostMB ? `, ${on.rssMB} MB` : ""}`,
      met: times <= most && (!mostMB || (on.rssMB ?? Infinity) < mostMB),
    };
  };
  const overhead = (n: number, mostS: number, mostMB?: number) => () => {
    const p = find("overhead", "project", n);
    const f = find("overhead", "floor", n);
    if (!p?.wallMs || !f?.wallMs) return undefined;
    const over = (p.wallMs - f.wallMs) / 1000;
    return {
      value: `${over.toFixed(2)} s${mostMB ? `, ${p.rssMB} MB` : ""}`,
      met: over < mostS && (!mostMB || (p.rssMB ?? Infinity) < mostMB),
    };
  };
  const latency = (n: number, most: number) => () => {
    const p = find("latency", "project", n);
    const f = find("latency", "floor", n);
    if (!p?.wallMs || !f?.wallMs) return undefined;
    return { value: `${(p.wallMs / f.wallMs).toFixed(2)}x`, met: p.wallMs / f.wallMs <= most };
  };
  for (const [n, most, mostMB] of [
    [1000, 3, 500],
    [100, 1.5, undefined],
  ] as const) {
    targets.push({
      scenario: "tracing",
      what: `traced run at ${n.toLocaleString("en-US")} sections, time / untraced${mostMB ? ", peak RSS" : ""}`,
      target: `<= ${most}x${mostMB ? `, < ${mostMB} MB` : ""}`,
      measure: traced(n, most, mostMB),
    });
  }
  targets.push(
    {
      scenario: "overhead",
      what: "10,000 sections, zero-latency model: overhead over the floor, peak RSS",
      target: "< 5 s, < 400 MB",
      measure: overhead(10000, 5, 400),
    },
    {
      scenario: "overhead",
      what: "1,000 sections, zero-latency: overhead over the floor",
      target: "< 0.5 s",
      measure: overhead(1000, 0.5),
    },
    {
      scenario: "latency",
      what: "real ChatOpenAI, 200 ms a call, concurrency N: wall / floor at 100",
      target: "<= 1.05x",
      measure: latency(100, 1.05),
    },
    {
      scenario: "latency",
      what: "the same at 1,000",
      target: "<= 1.5x",
      measure: latency(1000, 1.5),
    },
    {
      scenario: "checkpoint",
      what: "PostgreSQL checkpointer at 1,000 sections, over none",
      target: "<= +30%",
      measure: () => {
        const none = find("checkpoint", "project", 1000, "none");
        const pg = find("checkpoint", "project", 1000, "postgres");
        if (!none?.wallMs || !pg?.wallMs) return undefined;
        const more = pg.wallMs / none.wallMs - 1;
        return { value: `+${Math.round(100 * more)}%`, met: more <= 0.3 };
      },
    },
    {
      scenario: "limited",
      what: `provider allowing ${sizes.limit} concurrent requests, maxConcurrency ${sizes.userConcurrency}: failed, share of ideal, 429s`,
      target: "0 failed, >= 90%, few 429s (reported)",
      measure: () => {
        const row = find(
          "limited",
          "project",
          sizes.limited,
          `k=${sizes.limit},c=${sizes.userConcurrency}`,
        );
        if (!row?.wallMs) return undefined;
        const ideal = LATENCY_MS + Math.ceil(sizes.limited / sizes.limit) * LATENCY_MS;
        const share = ideal / row.wallMs;
        return {
          value: `${row.failed} failed, ${(100 * share).toFixed(1)}%, ${row.server?.rejected ?? "?"} 429s`,
          met: row.failed === 0 && share >= 0.9,
        };
      },
    },
    {
      scenario: "tpm",
      what: "provider with a tokens-per-window limit: failed, 429s",
      target: "0 failed",
      measure: () => {
        const row = find("tpm", "project", sizes.tpm.n, "tpm");
        if (!row?.wallMs) return undefined;
        return {
          value: `${row.failed} failed, ${row.server?.rateLimited ?? "?"} 429s`,
          met: row.failed === 0,
        };
      },
    },
  );
  const lines = [
    "## Targets (issue 16)",
    "",
    "| what | measured | target | |",
    "| --- | ---: | ---: | --- |",
  ];
  for (const target of targets) {
    const result = target.measure();
    lines.push(
      `| ${target.what} | ${result?.value ?? "not measured in this run"} | ${target.target} | ${
        result === undefined
          ? ""
          : result.met
            ? "met"
            : `missed: bench/NOTES.md ${MISS_NOTES[target.scenario]}`
      } |`,
    );
  }
  return lines;
}

function renderMarkdown(): string {
  const lines: string[] = [
    "# Benchmark results",
    "",
    `Written by \`npm run bench${quick ? " -- --quick" : ""}\` on ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${availableParallelism()} cores. Each cell is a run in a fresh process: ${quick ? "one run" : "the median of 3 runs, taken in turns with the rows it is compared with, for the zero-latency, tracing and checkpointer rows; one run for the rows against a model server"}. **project** is this repository's graph, **baseline** the LangGraph docs' orchestrator-worker tutorial graph (\`bench/baseline/graph.ts\`), **floor** a plain \`Promise.all\` over the same model calls with the same client, no graph.`,
    "",
    ...(quick
      ? ["The targets table (issue 16) is written by the full run only."]
      : renderTargets()),
    "",
    `## Wall time against the critical path (real ChatOpenAI over HTTP, ${LATENCY_MS} ms per request, concurrency limit raised to N)`,
    "",
    `The critical path is the planner call plus the slowest section call: ${criticalPathMs} ms.`,
    "",
    "| sections | project | baseline | floor | project / floor | project / critical path | baseline / critical path | floor / critical path | first section (project / baseline / floor) |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const n of sizes.latency) {
    const [p, b, f] = IMPLS.map((impl) => find("latency", impl, n));
    lines.push(
      `| ${n} | ${ms(p)} | ${ms(b)} | ${ms(f)} | ${ratio(p?.wallMs, f?.wallMs)} | ${ratio(p?.wallMs, criticalPathMs)} | ${ratio(b?.wallMs, criticalPathMs)} | ${ratio(f?.wallMs, criticalPathMs)} | ${[p, b, f].map((row) => (row?.firstSectionMs === undefined ? "–" : `${row.firstSectionMs} ms`)).join(" / ")} |`,
    );
  }
  lines.push(
    "",
    "## Orchestration overhead and peak memory (scripted zero-latency model, in process)",
    "",
    "Overhead is wall time minus the floor's wall time at the same size.",
    "",
    "| sections | project | baseline | floor | project overhead | baseline overhead | peak RSS (project / baseline / floor) |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  for (const n of sizes.overhead) {
    const [p, b, f] = IMPLS.map((impl) => find("overhead", impl, n));
    const over = (row: Row | undefined) =>
      row?.wallMs === undefined || f?.wallMs === undefined
        ? "–"
        : `${((row.wallMs - f.wallMs) / 1000).toFixed(2)} s`;
    lines.push(
      `| ${n} | ${ms(p)} | ${ms(b)} | ${ms(f)} | ${over(p)} | ${over(b)} | ${[p, b, f].map((row) => (row?.rssMB ? `${row.rssMB} MB` : "–")).join(" / ")} |`,
    );
  }
  const limitedN = sizes.limited;
  const ideal = LATENCY_MS + Math.ceil(limitedN / sizes.limit) * LATENCY_MS;
  lines.push(
    "",
    `## A provider that allows ${sizes.limit} concurrent requests and answers 429 beyond (${limitedN} sections, ${LATENCY_MS} ms)`,
    "",
    `Ideal wall time: planner + ceil(N/k) x latency = ${ideal} ms. The model clients' concurrency is adaptive (\`src/models/adaptive-concurrency.ts\`): it starts at min(maxConcurrency, 10), backs off on 429s and grows again while requests succeed, within maxConcurrency.`,
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
        `| ${impl} | ${setting} | ${ms(row)} | ${row?.completed ?? "–"} | ${row?.failed ?? "–"} | ${row?.server?.rejected ?? "–"} | ${row?.wallMs && !row.failed ? `${Math.round((100 * ideal) / row.wallMs)}%` : "–"} |`,
      );
    }
  }
  const { n: tpmN, tokensPerWindow, windowMs } = sizes.tpm;
  lines.push(
    "",
    `## A provider with a token limit per window (${tokensPerWindow} tokens per ${windowMs} ms window, ${tpmN} sections, ${LATENCY_MS} ms, maxConcurrency ${sizes.userConcurrency})`,
    "",
    "The server charges a request's prompt tokens when it arrives and its answer's when it answers, sends `x-ratelimit-*` on every answer and `retry-after` on its 429s. Share of the limit: tokens served / (limit x wall time / window); the fixed windows start at the first request, so a last window used only in part counts against it.",
    "",
    "| | wall | sections written | failed | 429s from the server | tokens served | share of the token limit |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  for (const impl of IMPLS) {
    const row = find("tpm", impl, tpmN, "tpm");
    const tokens = row?.server?.tokens;
    const share =
      row?.wallMs && tokens && !row.error
        ? `${Math.round((100 * tokens) / ((tokensPerWindow * row.wallMs) / windowMs))}%`
        : "–";
    lines.push(
      `| ${impl} | ${ms(row)} | ${row?.completed ?? "–"} | ${row?.failed ?? "–"} | ${row?.server?.rateLimited ?? "–"} | ${tokens ?? "–"} | ${share} |`,
    );
  }
  lines.push(
    "",
    "## Tracing to a local LangSmith stand-in (scripted zero-latency model, until traces are sent)",
    "",
    "| sections | | off | on | on / off |",
    "| ---: | --- | ---: | ---: | ---: |",
  );
  for (const n of sizes.tracing) {
    for (const impl of ["project", "baseline"] as const) {
      const off = find("tracing", impl, n, "off");
      const on = find("tracing", impl, n, "on");
      lines.push(`| ${n} | ${impl} | ${ms(off)} | ${ms(on)} | ${ratio(on?.wallMs, off?.wallMs)} |`);
    }
  }
  lines.push(
    "",
    "## Checkpointer overhead (project, scripted zero-latency model)",
    "",
    "| sections | none | SQLite | PostgreSQL |",
    "| ---: | ---: | ---: | ---: |",
  );
  for (const n of sizes.checkpoint) {
    lines.push(
      `| ${n} | ${ms(find("checkpoint", "project", n, "none"))} | ${ms(find("checkpoint", "project", n, "sqlite"))} | ${postgresUrl ? ms(find("checkpoint", "project", n, "postgres")) : "not run (no POSTGRES_URL)"} |`,
    );
  }
  lines.push("", "![wall time / critical path against plan size](chart.svg)", "");
  return lines.join("\n");
}

/** A small SVG line chart: wall time / critical path against plan size, one line per implementation. */
function renderChart(): string {
  const width = 640;
  const height = 360;
  const margin = { left: 60, right: 120, top: 30, bottom: 50 };
  const ns = sizes.latency;
  const series = IMPLS.map((impl) => ({
    impl,
    points: ns.flatMap((n) => {
      const row = find("latency", impl, n);
      return row?.wallMs ? [{ n, value: row.wallMs / criticalPathMs }] : [];
    }),
  }));
  const maxValue =
    Math.max(1, ...series.flatMap((line) => line.points.map((point) => point.value))) * 1.1;
  const logMin = Math.log10(Math.min(...ns));
  const logMax = Math.log10(Math.max(...ns));
  const x = (n: number) =>
    margin.left +
    ((Math.log10(n) - logMin) / Math.max(logMax - logMin, 1)) *
      (width - margin.left - margin.right);
  const y = (value: number) =>
    height - margin.bottom - (value / maxValue) * (height - margin.top - margin.bottom);
  const colors: Record<Impl, string> = {
    project: "#2563eb",
    baseline: "#dc2626",
    floor: "#6b7280",
  };
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="18" text-anchor="middle" font-size="14">Wall time / critical path (${LATENCY_MS} ms per request)</text>`,
    `<line x1="${margin.left}" y1="${y(0)}" x2="${width - margin.right}" y2="${y(0)}" stroke="black"/>`,
    `<line x1="${margin.left}" y1="${y(0)}" x2="${margin.left}" y2="${margin.top}" stroke="black"/>`,
    `<line x1="${margin.left}" y1="${y(1)}" x2="${width - margin.right}" y2="${y(1)}" stroke="#9ca3af" stroke-dasharray="4 4"/>`,
    `<text x="${margin.left - 8}" y="${y(1) + 4}" text-anchor="end">1x</text>`,
    `<text x="${margin.left - 8}" y="${y(maxValue / 1.1) + 4}" text-anchor="end">${(maxValue / 1.1).toFixed(1)}x</text>`,
    ...ns.map(
      (n) =>
        `<text x="${x(n)}" y="${height - margin.bottom + 18}" text-anchor="middle">${n}</text>`,
    ),
    `<text x="${(margin.left + width - margin.right) / 2}" y="${height - 12}" text-anchor="middle">sections (log scale)</text>`,
  ];
  series.forEach((line, index) => {
    const path = line.points.map((point) => `${x(point.n)},${y(point.value)}`).join(" ");
    parts.push(
      `<polyline points="${path}" fill="none" stroke="${colors[line.impl]}" stroke-width="2"/>`,
    );
    for (const point of line.points)
      parts.push(
        `<circle cx="${x(point.n)}" cy="${y(point.value)}" r="3" fill="${colors[line.impl]}"/>`,
      );
    parts.push(
      `<text x="${width - margin.right + 10}" y="${margin.top + 20 + index * 18}" fill="${colors[line.impl]}">${line.impl}</text>`,
    );
  });
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}
