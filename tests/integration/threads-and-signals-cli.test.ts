import { execFile, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { processState } from "../../src/cli/thread-lease.js";
import { defaultPlan, startOpenAIServer, type OpenAIServer } from "../../src/testing/index.js";
import { cleanEnvironment } from "../helpers/process.js";
import { headings } from "../helpers/report.js";
import { runCli, startCli } from "../helpers/run-cli.js";

/**
 * Signals and stores through the CLI (issue 23, "Concurrency, signals and stores"): a holder that
 * was killed and not reaped (a zombie, as in a container without an init) does not block a resume;
 * SIGTERM stops a run as Ctrl-C does (resume hint, MCP servers closed, exit 143); a `--db` file
 * that is not a usable SQLite database is bad input (exit 2, one line).
 */

const CLI = resolve("dist/cli/main.js");
const STUBBORN_SERVER = resolve("tests/helpers/stubborn-mcp-server.js");
const SECTIONS = 4;
const PLAN = defaultPlan(SECTIONS);
const names = PLAN.map((section) => section.name);

let server: OpenAIServer;
let directory: string;
beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), "threads-and-signals-"));
});
afterEach(async () => server?.close());

const env = () => ({ OPENAI_BASE_URL: server.baseURL, OPENAI_API_KEY: "sk-signals" });

/** The processes whose command line holds `marker` (the test's folder). */
async function processesWith(marker: string): Promise<string[]> {
  const { stdout } = await promisify(execFile)("ps", ["-eo", "pid,stat,args"]);
  return stdout
    .split("\n")
    .filter((line) => line.includes(marker) && !/\bps -eo\b/.test(line))
    .map((line) => line.trim());
}

describe("process state", () => {
  test("reads the state after the command, whatever the command holds", async () => {
    const root = await mkdtemp(join(tmpdir(), "fake-proc-"));
    await mkdir(join(root, "41"));
    await mkdir(join(root, "42"));
    await writeFile(join(root, "41", "stat"), "41 (node) S 1 41 41 0 -1\n");
    await writeFile(join(root, "42", "stat"), "42 (a) b) Z (c) R 1 42 42 0 -1\n");
    expect(processState(41, root)).toBe("S");
    expect(processState(42, root)).toBe("R");
    expect(processState(43, root)).toBeUndefined();
    expect(processState(process.pid)).toMatch(/^[RS]$/);
  });
});

describe("a killed holder that nobody reaped (a zombie)", () => {
  test("resuming at once works: the zombie's lease does not count", async () => {
    server = await startOpenAIServer({
      plan: PLAN,
      latencyMs: (request) => (request.kind === "plan" ? 0 : 300),
    });
    const thread = `zombie-${randomUUID()}`;
    const out = join(directory, "report.md");
    const args = ["Tides", "--thread", thread, "--out", out, "--max-concurrency", "1"];
    // The CLI's parent becomes `sleep`, which never waits for children: once killed, the CLI
    // stays a zombie until the parent ends, as under a container's pid 1 that reaps nothing.
    const parent = spawn(
      "sh",
      ["-c", 'node "$0" "$@" & echo "pid $!"; exec sleep 600', CLI, ...args],
      {
        env: { ...cleanEnvironment(), INIT_CWD: directory, ...env() },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    try {
      let stdout = "";
      let stderr = "";
      const seen = (stream: "stdout" | "stderr", pattern: RegExp) =>
        new Promise<RegExpExecArray>((resolveSeen) => {
          const check = () => {
            const match = pattern.exec(stream === "stdout" ? stdout : stderr);
            if (match) resolveSeen(match);
          };
          parent[stream].on("data", check);
          check();
        });
      parent.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
      parent.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      const pid = Number((await seen("stdout", /^pid (\d+)$/m))[1]);
      await seen("stderr", /\[1\/4\] done: /);
      process.kill(pid, "SIGKILL");
      // No event says a process became a zombie: /proc does, within moments of the kill.
      for (let tries = 0; processState(pid) !== "Z"; tries += 1) {
        if (tries > 2000) throw new Error(`pid ${pid} is ${processState(pid)}, not a zombie`);
        await new Promise((resolveTick) => setImmediate(resolveTick));
      }
      expect(processState(pid)).toBe("Z");

      const started = Date.now();
      const second = await runCli(args, { env: env(), directory });
      expect(second.stderr).toMatch(/^Resuming zombie-/m);
      expect(second.code).toBe(0);
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(headings(await readFile(out, "utf8"))).toEqual(names);
      expect(server.planRequests()).toHaveLength(1);
    } finally {
      parent.kill("SIGKILL");
    }
  }, 90_000);
});

describe("SIGTERM stops a run as Ctrl-C does", () => {
  for (const [signal, code, said] of [
    ["SIGTERM", 143, "Terminated"],
    ["SIGINT", 130, "Interrupted"],
  ] as const) {
    test(`${signal} while a section is written: the resume hint, exit ${code}, the MCP server that ignores EOF is closed, no request after the signal`, async () => {
      // Each section takes 400 ms: a run still dispatching while the servers close (seconds for
      // one that ignores EOF) would send the next section's request.
      server = await startOpenAIServer({
        plan: defaultPlan(3),
        latencyMs: (request) => (request.kind === "section" ? 400 : 0),
      });
      await writeFile(
        join(directory, "mcp.json"),
        JSON.stringify({
          mcpServers: {
            stubborn: { command: process.execPath, args: [STUBBORN_SERVER, directory] },
          },
        }),
      );
      const running = startCli(
        ["Harbours", "--mcp", "mcp.json", "--out", "report.md", "--max-concurrency", "1"],
        { env: env(), directory },
      );
      await running.waitForStderr(/^Run [0-9a-f-]+ \(stored in/m);
      // Signalled as soon as the first section's request arrives, 400 ms before it is answered.
      await new Promise<void>((resolveRequest) => {
        const check = () =>
          server.sectionRequests().length > 0 ? resolveRequest() : setImmediate(check);
        check();
      });
      running.child.kill(signal);
      const requestsAtSignal = server.requests.length;
      const result = await running.result;

      expect(result.signal).toBeNull();
      expect(result.code).toBe(code);
      expect(result.stderr).toMatch(
        new RegExp(
          `${said}\\. Finished sections are saved: run again with --thread [0-9a-f-]+ to resume\\.`,
        ),
      );
      expect(result.stderr).not.toMatch(/^error/m);
      expect(server.requests.length).toBe(requestsAtSignal);
      // The server had started (it logs each start), and is gone.
      const starts = await readFile(join(directory, "stubborn-starts.log"), "utf8");
      expect(starts.trim().split("\n")).toHaveLength(1);
      expect(await processesWith(directory)).toEqual([]);
    }, 60_000);
  }
});

describe("a --db file SQLite cannot use is bad input", () => {
  beforeEach(async () => {
    server = await startOpenAIServer({ plan: defaultPlan(2) });
  });

  const refused = async (file: string, what: RegExp) => {
    const requestsBefore = server.requests.length;
    const result = await runCli(["Tides", "--db", file, "--out", "report.md"], {
      env: env(),
      directory,
    });
    expect(result.code).toBe(2);
    const lines = result.stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^error: .*${file} \\(--db\\) ${what.source}`));
    expect(server.requests).toHaveLength(requestsBefore);
  };

  /** A real run store, made by a run. */
  const storeFile = async () => {
    const made = await runCli(["Tides", "--db", "good.sqlite", "--out", "made.md"], {
      env: env(),
      directory,
    });
    expect(made.code).toBe(0);
    return readFile(join(directory, "good.sqlite"));
  };

  test("a file that is not SQLite: exit 2, one line, no request", async () => {
    await writeFile(join(directory, "notes.txt"), "Shopping: tides, moon, harbour.\n".repeat(20));
    await refused("notes.txt", /is not a SQLite database/);
  }, 60_000);

  test("a truncated copy of a run store: exit 2, one line, no request", async () => {
    const bytes = await storeFile();
    await writeFile(join(directory, "truncated.sqlite"), bytes.subarray(0, 8192));
    await refused("truncated.sqlite", /is truncated/);
  }, 60_000);

  test("a run store with a corrupt page: exit 2, one line, no request", async () => {
    const bytes = Buffer.from(await storeFile());
    // Page 2 onwards (4 KiB pages): the schema's tables, read when the thread is taken.
    bytes.fill(0x58, 4100, 4164);
    await writeFile(join(directory, "corrupt.sqlite"), bytes);
    await refused("corrupt.sqlite", /is corrupt/);
  }, 60_000);
});

describe("npm run eval checks where its results go before running any case", () => {
  const evaluate = async (args: string[]) => {
    server = await startOpenAIServer({ plan: defaultPlan(2) });
    await writeFile(
      join(directory, "cases.jsonl"),
      `${JSON.stringify({ id: "tides", topic: "Tides" })}\n`,
    );
    const child = spawn(
      process.execPath,
      ["--import", "tsx", resolve("eval/run.ts"), "--dataset", "cases.jsonl", ...args],
      {
        cwd: process.cwd(),
        env: { ...cleanEnvironment(), ...env(), INIT_CWD: directory },
      },
    );
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((done) => child.on("close", done));
    return { code, stderr };
  };

  test("--out . (a folder): exit 2, one line, no model request", async () => {
    const result = await evaluate(["--out", "."]);
    expect(result.stderr).toBe(
      `error: Cannot write the results to ${directory} (--out): it is a folder. Give --out a file path that can be written.\n`,
    );
    expect(result.code).toBe(2);
    expect(server.requests).toHaveLength(0);
  }, 60_000);

  test("--json under a file (a folder that cannot be made): exit 2, one line, no model request", async () => {
    await writeFile(join(directory, "plain.txt"), "not a folder\n");
    const result = await evaluate(["--json", "plain.txt/results.json"]);
    expect(result.stderr).toMatch(
      /^error: Cannot write the results to .*plain\.txt\/results\.json \(--json\): (ENOTDIR|EEXIST)\. /,
    );
    expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(result.code).toBe(2);
    expect(server.requests).toHaveLength(0);
  }, 60_000);
});

describe("an MCP server that never answers its handshake", () => {
  test("the CLI exits 2 when the message says, after the 30 s start timeout, not a minute later", async () => {
    server = await startOpenAIServer({ plan: defaultPlan(2) });
    await writeFile(
      join(directory, "mcp.json"),
      JSON.stringify({
        mcpServers: {
          silent: { command: process.execPath, args: ["-e", "setInterval(() => {}, 1e9)"] },
        },
      }),
    );
    const started = Date.now();
    const result = await runCli(["Harbours", "--mcp", "mcp.json", "--out", "report.md"], {
      env: env(),
      directory,
    });
    const seconds = (Date.now() - started) / 1000;
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /^error: MCP server "silent" .* did not answer the MCP handshake within 30 s/,
    );
    // 30 s, then closing the servers (at most a few seconds); the MCP SDK's own 60 s handshake
    // timer kept the process alive until 61-62 s.
    expect(seconds).toBeGreaterThanOrEqual(30);
    expect(seconds).toBeLessThan(45);
    expect(server.requests).toHaveLength(0);
  }, 90_000);
});
