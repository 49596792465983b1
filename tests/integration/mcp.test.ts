/**
 * MCP tools for workers, with real servers someone else wrote: the reference filesystem server
 * (@modelcontextprotocol/server-filesystem) over stdio on a temp folder, a small streamable HTTP
 * server built with the MCP SDK on 127.0.0.1, and a stdio server that only a signal stops (so a
 * server left running is seen, not hidden by one that exits when its stdin closes). The CLI is the
 * built bin; the model is the local OpenAI-compatible server scripted to call the servers' tools.
 * Server processes are found by the test folder in their arguments.
 */
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdir, mkdtemp, readFile, readdir, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { buildGraph } from "../../src/graph/graph.js";
import { InvalidInputError } from "../../src/errors.js";
import {
  ScriptedChatModel,
  defaultPlan,
  startOpenAIServer,
  type OpenAIServer,
  type ServerReply,
} from "../../src/testing/index.js";
import { startLedgerServer, type LedgerServer } from "../helpers/mcp-http-server.js";
import { runCli, startCli } from "../helpers/run-cli.js";

const API_KEY = "sk-mcp-test-key";
const LEDGER_SECRET = "ledger-secret-token-8f3a";
const FILESYSTEM_SERVER = resolve(
  "node_modules/@modelcontextprotocol/server-filesystem/dist/index.js",
);
const STUBBORN_SERVER = resolve("tests/helpers/stubborn-mcp-server.js");

/** The processes whose command line holds `marker` (the test's folder). */
async function processesWith(marker: string): Promise<string[]> {
  const { stdout } = await promisify(execFile)("ps", ["-eo", "pid,args"]);
  return stdout
    .split("\n")
    .filter((line) => line.includes(marker) && !/\bps -eo\b/.test(line))
    .map((line) => line.trim());
}

async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolveWait) => setTimeout(resolveWait, 50));
  }
}

/** A port nothing listens on: taken from the system, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolveListen) => server.listen(0, "127.0.0.1", resolveListen));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolveClose) => server.close(() => resolveClose()));
  return port;
}

interface Folder {
  directory: string;
  /** The file the filesystem server serves, and the sentence only it holds. */
  notes: string;
  sentence: string;
}

async function makeFolder(): Promise<Folder> {
  const directory = await mkdtemp(join(tmpdir(), "mcp-cli-"));
  await mkdir(join(directory, "docs"));
  const sentence = `The harbour log for tide ${randomUUID()} was kept by the lighthouse keeper.`;
  const notes = join(directory, "docs", "notes.txt");
  await writeFile(notes, `${sentence}\n`);
  return { directory, notes, sentence };
}

/** The three servers of an MCP client's file: filesystem (stdio), ledger (HTTP), stubborn (stdio). */
function serversFor(folder: Folder, ledger: LedgerServer) {
  return {
    filesystem: {
      command: process.execPath,
      args: [FILESYSTEM_SERVER, join(folder.directory, "docs")],
    },
    ledger: {
      type: "http" as const,
      url: ledger.url,
      headers: { Authorization: `Bearer ${LEDGER_SECRET}` },
    },
    stubborn: {
      type: "stdio" as const,
      command: process.execPath,
      args: [STUBBORN_SERVER, folder.directory],
    },
  };
}

async function startsOf(folder: Folder): Promise<number> {
  const log = await readFile(join(folder.directory, "stubborn-starts.log"), "utf8").catch(() => "");
  return log.split("\n").filter(Boolean).length;
}

/** A writer that reads the notes with the filesystem server, then asks the ledger, then writes. */
function toolScript(folder: Folder) {
  return (request: {
    kind: string;
    tools: string[];
    toolResults: string[];
    sectionName?: string;
  }) => {
    if (request.kind !== "section" || request.tools.length === 0) return undefined;
    if (request.toolResults.length === 0) {
      return {
        toolCall: {
          name: "filesystem__read_text_file",
          arguments: JSON.stringify({ path: folder.notes }),
        },
      };
    }
    if (request.toolResults.length === 1) {
      return {
        toolCall: {
          name: "ledger__lookup_ledger",
          arguments: JSON.stringify({ entry: request.sectionName }),
        },
      };
    }
    return undefined;
  };
}

describe("MCP servers through the CLI (--mcp)", () => {
  let ledger: LedgerServer;
  let server: OpenAIServer | undefined;

  beforeEach(async () => {
    ledger = await startLedgerServer();
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
    await ledger.close();
  });

  const env = () => ({ OPENAI_BASE_URL: server!.baseURL, OPENAI_API_KEY: API_KEY });

  async function writeMcpFile(folder: Folder, content: unknown): Promise<void> {
    await writeFile(
      join(folder.directory, "mcp.json"),
      typeof content === "string" ? content : JSON.stringify(content, null, 2),
    );
  }

  test("workers call the real filesystem server (stdio) and an HTTP server; the report is written and every server process is gone after", async () => {
    const folder = await makeFolder();
    await writeMcpFile(folder, { mcpServers: serversFor(folder, ledger) });
    server = await startOpenAIServer({ plan: defaultPlan(2), respond: toolScript(folder) });

    const result = await runCli(
      ["Harbours", "--mcp", "mcp.json", "--out", "report.md", "--max-worker-steps", "3"],
      { env: env(), directory: folder.directory },
    );

    expect(result.stderr).not.toMatch(/error/);
    expect(result.code).toBe(0);
    const report = await readFile(join(folder.directory, "report.md"), "utf8");
    expect(report).toMatch(/^# Harbours\n/);
    expect(report).toMatch(/## Part 1[\s\S]*## Part 2/);
    // What the tools returned is provenance even though the writers cited none of it: each result
    // is a source under its tool's name and main argument, told to the writer as a citation key.
    const consulted = /## Also consulted\n\n((?:- .*\n?)+)/.exec(report)?.[1] ?? "";
    expect(consulted).toContain(`- filesystem__read_text_file ${folder.notes}\n`);
    expect(consulted).toContain("- ledger__lookup_ledger Part 1\n");
    expect(consulted).toContain("- ledger__lookup_ledger Part 2");
    expect(
      server
        .sectionRequests()
        .some((request) =>
          request.toolResults.some((text) =>
            text.startsWith(
              `Citation key of this result: [filesystem__read_text_file:${folder.notes}]`,
            ),
          ),
        ),
    ).toBe(true);
    // The sentence exists only in the temp file: only the real server reading it could send it.
    for (const name of ["Part 1", "Part 2"]) {
      const last = server
        .sectionRequests()
        .filter((request) => request.sectionName === name)
        .at(-1)!;
      expect(last.toolResults.some((text) => text.includes(folder.sentence))).toBe(true);
      expect(last.toolResults.some((text) => text.includes(ledger.token))).toBe(true);
    }
    const offered = server.sectionRequests()[0]!.tools;
    expect(offered).toEqual(
      expect.arrayContaining([
        "filesystem__read_text_file",
        "ledger__lookup_ledger",
        "stubborn__ping",
      ]),
    );
    // The HTTP server counted one call per section, and one handshake per run (not per section).
    expect(ledger.calls.map((call) => call.entry).sort()).toEqual(["Part 1", "Part 2"]);
    expect(ledger.initializations()).toBe(1);
    expect(await startsOf(folder)).toBe(1);
    // Its headers were sent, and never printed.
    expect(
      ledger.headers.every((headers) => headers.authorization === `Bearer ${LEDGER_SECRET}`),
    ).toBe(true);
    expect(ledger.headers.length).toBeGreaterThan(0);
    expect(`${result.stdout}${result.stderr}`).not.toContain(LEDGER_SECRET);
    // The servers' own log lines (the filesystem server's banner) stay out of the CLI's output.
    expect(result.stderr).not.toMatch(/Secure MCP Filesystem Server/);
    expect(await processesWith(folder.directory)).toEqual([]);
  }, 60_000);

  test("a run that fails (the planner is refused, exit 1) closes its servers", async () => {
    const folder = await makeFolder();
    await writeMcpFile(folder, { mcpServers: serversFor(folder, ledger) });
    server = await startOpenAIServer({
      respond: (request): ServerReply | undefined =>
        request.kind === "plan"
          ? { status: 401, body: { error: { message: "bad key" } } }
          : undefined,
    });

    const result = await runCli(["Harbours", "--mcp", "mcp.json", "--out", "report.md"], {
      env: env(),
      directory: folder.directory,
    });

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error/m);
    expect(server.planRequests().length).toBeGreaterThan(0);
    expect(await startsOf(folder)).toBe(1);
    expect(ledger.initializations()).toBe(1);
    expect(await processesWith(folder.directory)).toEqual([]);
  }, 60_000);

  test("Ctrl-C (SIGINT) while a section request hangs: exit 130, no server process left", async () => {
    const folder = await makeFolder();
    await writeMcpFile(folder, { mcpServers: serversFor(folder, ledger) });
    server = await startOpenAIServer({
      plan: defaultPlan(2),
      respond: (request) => (request.kind === "section" ? { fault: "hang" } : undefined),
    });

    const running = startCli(["Harbours", "--mcp", "mcp.json", "--out", "report.md"], {
      env: env(),
      directory: folder.directory,
    });
    await until(() => server!.sectionRequests().length > 0, "a section request");
    // Both stdio servers are running now: the check below can see them.
    expect(await processesWith(folder.directory)).toHaveLength(2);
    running.child.kill("SIGINT");
    const result = await running.result;

    expect(result.code).toBe(130);
    expect(result.stderr).toMatch(/Interrupted\. Finished sections are saved/);
    expect(await processesWith(folder.directory)).toEqual([]);
  }, 60_000);

  test("a server whose command does not exist: exit 2, one line naming it, no model request, the others closed", async () => {
    const folder = await makeFolder();
    await writeMcpFile(folder, {
      mcpServers: {
        ...serversFor(folder, ledger),
        search: {
          command: "no-such-mcp-server-command",
          env: { SEARCH_API_KEY: "search-key-1234" },
        },
      },
    });
    server = await startOpenAIServer();

    const result = await runCli(["Harbours", "--mcp", "mcp.json"], {
      env: env(),
      directory: folder.directory,
    });

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `error: MCP server "search" (${join(folder.directory, "mcp.json")}) did not start: the command "no-such-mcp-server-command" was not found: give "command" a program on PATH or a path to one.\n`,
    );
    expect(server.requests).toHaveLength(0);
    expect(await processesWith(folder.directory)).toEqual([]);
    // Nothing was stored: the run database was never opened.
    expect(await readdir(folder.directory)).not.toContain(".orchestrator-workers");
  }, 60_000);

  test("a server URL nobody listens on: exit 2, one line naming it, no model request", async () => {
    const folder = await makeFolder();
    const port = await closedPort();
    await writeMcpFile(folder, {
      mcpServers: { wiki: { url: `http://127.0.0.1:${port}/mcp?token=url-secret-5678` } },
    });
    server = await startOpenAIServer();

    const result = await runCli(["Harbours", "--mcp", "mcp.json"], {
      env: env(),
      directory: folder.directory,
    });

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `error: MCP server "wiki" (${join(folder.directory, "mcp.json")}) did not answer at http://127.0.0.1:${port}/mcp (connection refused or host not found): check its "url" and that the server is running.\n`,
    );
    expect(server.requests).toHaveLength(0);
  }, 60_000);

  test.each([
    [
      "a missing file",
      undefined,
      /^error: Cannot read the MCP servers file .*mcp\.json \(ENOENT\): check the path\.\n$/,
    ],
    [
      "a file that is not JSON",
      "{ mcpServers: ",
      /^error: .*mcp\.json is not valid JSON: give \{ "mcpServers": /,
    ],
    [
      "a file without mcpServers",
      { tools: {} },
      /^error: .*mcp\.json holds no "mcpServers" object: /,
    ],
    [
      "an entry with a field MCP servers do not have",
      { mcpServers: { files: { command: "x", autostart: true } } },
      /^error: MCP server "files" in .*mcp\.json: Unrecognized key: "autostart"; give /,
    ],
    [
      "an entry with neither command nor url",
      { mcpServers: { files: { args: ["x"] } } },
      /^error: MCP server "files" in .*mcp\.json has neither a "command" nor a "url": /,
    ],
    [
      "a server name that cannot prefix tool names",
      { mcpServers: { "my files": { command: "x" } } },
      /^error: MCP server name "my files" in .*mcp\.json has characters other than letters, digits, - and _/,
    ],
  ])("%s: exit 2, one line, before any model call or stored run", async (_, content, message) => {
    const folder = await makeFolder();
    if (content !== undefined) await writeMcpFile(folder, content);
    server = await startOpenAIServer();

    const result = await runCli(["Harbours", "--mcp", "mcp.json"], {
      env: env(),
      directory: folder.directory,
    });

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.split("\n")).toHaveLength(2);
    expect(server.requests).toHaveLength(0);
    expect(await readdir(folder.directory)).not.toContain(".orchestrator-workers");
  });

  test("a role naming a tool the run does not have: exit 2 naming it and the run's tools, servers closed", async () => {
    const folder = await makeFolder();
    await writeMcpFile(folder, { mcpServers: serversFor(folder, ledger) });
    await writeFile(
      join(folder.directory, "roles.json"),
      JSON.stringify([
        {
          name: "archivist",
          background: "Reads the files.",
          tools: ["filesystem__read_text_file"],
        },
        { name: "clerk", background: "Keeps the ledger.", tools: ["ledger__lookup_ledgr"] },
      ]),
    );
    server = await startOpenAIServer();

    const result = await runCli(["Harbours", "--mcp", "mcp.json", "--roles", "roles.json"], {
      env: env(),
      directory: folder.directory,
    });

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /^error: Role "clerk" names the tool "ledger__lookup_ledgr", which this run does not have: its tools are filesystem__read_file, .*ledger__lookup_ledger, stubborn__ping\.\n$/,
    );
    expect(server.requests).toHaveLength(0);
    expect(await processesWith(folder.directory)).toEqual([]);
  }, 60_000);

  test("--help lists --mcp", async () => {
    const folder = await makeFolder();
    const help = await runCli(["--help"], { directory: folder.directory });
    expect(help.stdout.replace(/\s+/g, " ")).toContain(
      "--mcp <file> MCP servers whose tools the workers may call",
    );
  });
});

describe("MCP servers of buildGraph and of a run's configuration", () => {
  let ledger: LedgerServer;

  beforeEach(async () => {
    ledger = await startLedgerServer();
  });
  afterEach(async () => {
    await ledger.close();
  });

  /** A writer that reads the notes through the filesystem server once, then writes. */
  function readingModel(folder: Folder) {
    return new ScriptedChatModel({
      plan: defaultPlan(2),
      act: (call) =>
        call.tools.includes("filesystem__read_text_file") && call.toolResults.length === 0
          ? { toolCalls: [{ name: "filesystem__read_text_file", args: { path: folder.notes } }] }
          : undefined,
    });
  }

  test("buildGraph({ mcpServers }): the tools reach every worker, the servers start once per run and are closed after invoke", async () => {
    const folder = await makeFolder();
    const model = readingModel(folder);
    const graph = buildGraph({ model, mcpServers: serversFor(folder, ledger) });

    const result = await graph.invoke(
      { topic: "Harbours" },
      { configurable: { maxWorkerSteps: 3 } },
    );

    expect(result.completedSections.map((section) => section.name)).toEqual(["Part 1", "Part 2"]);
    const reads = model.writeCalls.filter((call) =>
      call.toolResults.some((text) => text.includes(folder.sentence)),
    );
    expect(new Set(reads.map((call) => call.prompt)).size).toBe(2);
    expect(model.writeCalls[0]!.tools).toEqual(
      expect.arrayContaining([
        "filesystem__read_text_file",
        "ledger__lookup_ledger",
        "stubborn__ping",
      ]),
    );
    expect(await startsOf(folder)).toBe(1);
    expect(ledger.initializations()).toBe(1);
    expect(await processesWith(folder.directory)).toEqual([]);

    // A second run starts them again, and closes them again.
    await graph.invoke({ topic: "Harbours" });
    expect(await startsOf(folder)).toBe(2);
    expect(await processesWith(folder.directory)).toEqual([]);
  }, 60_000);

  test("mcpServers in the run's configuration; a consumer that breaks out of the stream early still has them closed", async () => {
    const folder = await makeFolder();
    const model = readingModel(folder);
    const graph = buildGraph({ model });
    const mcpServers = serversFor(folder, ledger);

    let chunks = 0;
    for await (const update of await graph.stream(
      { topic: "Harbours" },
      { configurable: { mcpServers }, streamMode: "updates" },
    )) {
      chunks += 1;
      expect(update).toBeDefined();
      // The servers are up while the run goes on.
      expect(await processesWith(folder.directory)).toHaveLength(2);
      break;
    }
    expect(chunks).toBe(1);
    expect(await processesWith(folder.directory)).toEqual([]);

    // Through `context` too, to the end of the run.
    const result = await graph.invoke(
      { topic: "Harbours" },
      // LangGraph types `context` as the whole configuration; a run gives only what it sets.
      { context: { mcpServers } } as never,
    );
    expect(result.completedSections).toHaveLength(2);
    expect(
      model.writeCalls.some((call) =>
        call.toolResults.some((text) => text.includes(folder.sentence)),
      ),
    ).toBe(true);
    expect(await startsOf(folder)).toBe(2);
    expect(await processesWith(folder.directory)).toEqual([]);
  }, 60_000);

  test("a run whose server fails to start is refused before any model call, the others closed", async () => {
    const folder = await makeFolder();
    const model = readingModel(folder);
    const graph = buildGraph({ model, mcpServers: serversFor(folder, ledger) });
    const port = await closedPort();

    const error: unknown = await graph
      .invoke(
        { topic: "Harbours" },
        { configurable: { mcpServers: { wiki: { url: `http://127.0.0.1:${port}/mcp` } } } },
      )
      .catch((caught: unknown) => caught);

    expect(InvalidInputError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/^MCP server "wiki" .* did not answer at /);
    expect(model.calls).toHaveLength(0);
    expect(await processesWith(folder.directory)).toEqual([]);
  }, 60_000);

  test("buildGraph refuses a bad server entry when the graph is built", () => {
    expect(() => buildGraph({ mcpServers: { files: { command: "" } } })).toThrow(
      /MCP server "files" in buildGraph\(\{ mcpServers \}\): "command": /,
    );
  });
});
