/**
 * Issue 23, secrets: a secret never leaves the process in anything but the request that needs it.
 * A model server whose successful answers quote the API key, a real stdio MCP server whose tool
 * echoes the token it was started with, an evaluation whose configuration holds that token, and an
 * MCP start error long enough to be cut where the token is: none of them puts the secret into a
 * report, a checkpoint (the SQLite file's bytes), the results files or the terminal.
 */
import { mkdir, mkdtemp, readFile, readdir, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { SqliteSaver } from "@langchain/langgraph-checkpoint-sqlite";
import { runEval } from "../../eval/run.js";
import { REDACTED } from "../../src/errors.js";
import { buildGraph } from "../../src/graph/graph.js";
import {
  defaultPlan,
  startOpenAIServer,
  type OpenAIServer,
  type RecordedRequest,
  type ServerReply,
} from "../../src/testing/index.js";
import { startLangSmithReceiver, type LangSmithReceiver } from "../helpers/langsmith-receiver.js";
import { runCli } from "../helpers/run-cli.js";

const OPENAI_KEY = "sk-quoted-in-answers-7Hq2mZ94xLp0";
const MCP_TOKEN = "mcp-echoed-token-Vb81kQz3TtW6";
const ECHO_SERVER = resolve("tests/helpers/echo-mcp-server.js");

/** Every file under `root`, as bytes read as text (a SQLite file's pages included). */
async function filesUnder(root: string): Promise<{ path: string; text: string }[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return Promise.all(
    entries
      .filter((entry) => entry.isFile())
      .map(async (entry) => {
        const path = join(entry.parentPath, entry.name);
        return { path, text: await readFile(path, "latin1") };
      }),
  );
}

/** A writer that asks the echo server's tool once, then writes the section quoting what it said. */
function echoToolScript(request: RecordedRequest): ServerReply | undefined {
  if (request.kind !== "section" || request.tools.length === 0) return undefined;
  if (request.toolResults.length === 0) {
    return { toolCall: { name: "echo__whoami", arguments: JSON.stringify({}) } };
  }
  return { content: `The archive says: ${request.toolResults.join(" ")}` };
}

const echoServers = {
  echo: { command: process.execPath, args: [ECHO_SERVER], env: { ECHO_TOKEN: MCP_TOKEN } },
};

describe("secrets in successful answers and tool output", () => {
  let directory: string;
  let server: OpenAIServer | undefined;
  let http: Server | undefined;
  let receiver: LangSmithReceiver | undefined;

  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), "secrets-answers-"));
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
    await receiver?.close();
    receiver = undefined;
    await new Promise((done) => (http ? http.close(done) : done(undefined)));
    http = undefined;
  });

  test("a model server that quotes the API key in its plan and its sections: the key reaches no report, checkpoint, trace, stdout or stderr", async () => {
    server = await startOpenAIServer({
      planText: JSON.stringify({
        sections: [
          { name: "Part 1", description: `Explain why ${OPENAI_KEY} opens the gate.` },
          { name: "Part 2", description: "The second part." },
        ],
      }),
      respond: (request) => {
        const key = String(request.headers.authorization).replace(/^Bearer /, "");
        if (request.kind === "section") {
          return {
            content: `Tides follow the moon. The key is ${key}; again ${key}, and once more (${key}).`,
          };
        }
        return undefined;
      },
    });
    receiver = await startLangSmithReceiver();
    const out = join(directory, "report.md");
    const result = await runCli(
      ["How tides work", "--out", out, "--thread", "quoted", "--synthesis", "llm"],
      {
        env: {
          OPENAI_BASE_URL: server.baseURL,
          OPENAI_API_KEY: OPENAI_KEY,
          LANGSMITH_TRACING: "true",
          LANGSMITH_ENDPOINT: receiver.endpoint,
          LANGSMITH_API_KEY: "lsv2-secrets-in-answers-test",
          LANGSMITH_PROJECT: "secrets-test",
        },
        directory,
      },
    );
    expect(result.stderr).not.toMatch(/error/);
    expect(result.code).toBe(0);
    // The server did quote the key in the answers the run stored.
    const report = await readFile(out, "utf8");
    expect(report).toContain(`The key is ${REDACTED}; again ${REDACTED}`);
    const files = await filesUnder(directory);
    expect(files.map((file) => file.path)).toContainEqual(
      expect.stringMatching(/checkpoints\.sqlite$/),
    );
    // The model runs in the trace carry the answers as the client read them: redacted.
    const bodies = receiver.bodies();
    expect(bodies.join("\n")).toContain(`The key is ${REDACTED}`);
    for (const text of [
      result.stdout,
      result.stderr,
      ...bodies,
      ...files.map((file) => file.text),
    ]) {
      expect(text).not.toContain(OPENAI_KEY);
    }
    // The planner's quote was redacted before the writers' prompts were made from the plan.
    expect(server.requests.filter((request) => request.kind === "section")).not.toHaveLength(0);
    for (const request of server.requests.filter((candidate) => candidate.kind === "section")) {
      expect(request.prompt).not.toContain(OPENAI_KEY);
    }
  }, 60_000);

  test.each(["buildGraph({ mcpServers })", "the run's mcpServers configuration"])(
    "a real stdio MCP server whose tool echoes its env token (%s): the token reaches neither the model's prompt, nor the report, nor the stored checkpoint",
    async (where) => {
      server = await startOpenAIServer({ plan: defaultPlan(2), respond: echoToolScript });
      const file = join(directory, "checkpoints.sqlite");
      const checkpointer = SqliteSaver.fromConnString(file);
      const graph = buildGraph({
        environment: { openaiBaseUrl: server.baseURL, workingDirectory: directory },
        checkpointer,
        ...(where.startsWith("buildGraph") ? { mcpServers: echoServers } : {}),
      });
      const output = await graph.invoke(
        { topic: "Harbour archives" },
        {
          configurable: {
            thread_id: "echo",
            ...(where.startsWith("buildGraph") ? {} : { mcpServers: echoServers }),
          },
        },
      );
      // The tool really ran and its answer reached the section, redacted.
      const toolResults = server.requests.flatMap((request) => request.toolResults);
      expect(toolResults.join("\n")).toContain(`account token ${REDACTED}`);
      expect(output.report).toContain(`account token ${REDACTED}`);
      const state = await graph.getState({ configurable: { thread_id: "echo" } });
      (checkpointer as unknown as { db: { close(): void } }).db.close();
      const stored = await readFile(file, "latin1");
      for (const text of [
        ...toolResults,
        ...server.requests.map((request) => JSON.stringify(request.body)),
        output.report,
        JSON.stringify(state.values),
        stored,
      ]) {
        expect(text).not.toContain(MCP_TOKEN);
      }
    },
    60_000,
  );

  test("the CLI with --mcp and LangSmith tracing: the echoed token reaches neither the trace, nor the report, nor the run store", async () => {
    server = await startOpenAIServer({ plan: defaultPlan(2), respond: echoToolScript });
    receiver = await startLangSmithReceiver();
    await writeFile(join(directory, "mcp.json"), JSON.stringify({ mcpServers: echoServers }));
    const result = await runCli(
      ["Harbour archives", "--mcp", "mcp.json", "--out", "report.md", "--max-worker-steps", "3"],
      {
        env: {
          OPENAI_BASE_URL: server.baseURL,
          OPENAI_API_KEY: OPENAI_KEY,
          LANGSMITH_TRACING: "true",
          LANGSMITH_ENDPOINT: receiver.endpoint,
          LANGSMITH_API_KEY: "lsv2-secrets-in-answers-test",
          LANGSMITH_PROJECT: "secrets-test",
        },
        directory,
      },
    );
    expect(result.code).toBe(0);
    const report = await readFile(join(directory, "report.md"), "utf8");
    expect(report).toContain(`account token ${REDACTED}`);
    // The tool's own run in the trace carries its output, redacted.
    const bodies = receiver.bodies();
    expect(bodies.join("\n")).toContain(`account token ${REDACTED}`);
    // Every file but the servers file the user wrote: the report and the run store.
    const files = (await filesUnder(directory)).filter((file) => !file.path.endsWith("mcp.json"));
    expect(files.map((file) => file.path)).toContainEqual(
      expect.stringMatching(/checkpoints\.sqlite$/),
    );
    for (const text of [
      result.stdout,
      result.stderr,
      ...bodies,
      ...files.map((file) => file.text),
    ]) {
      expect(text).not.toContain(MCP_TOKEN);
    }
  }, 60_000);

  test("npm run eval with a configuration whose MCP server holds a token in env (and echoes it): results.json and RESULTS.md hold no token", async () => {
    server = await startOpenAIServer({ respond: echoToolScript });
    await mkdir(join(directory, "data"));
    await writeFile(
      join(directory, "data", "cases.jsonl"),
      `${JSON.stringify({
        id: "harbour",
        topic: "Harbour archives",
        plan: [{ name: "Archive", description: "What the archive holds." }],
        requiredFacts: ["spring tides"],
      })}\n`,
    );
    await writeFile(
      join(directory, "mcp.json"),
      JSON.stringify({ name: "with-mcp", maxRetries: 0, mcpServers: echoServers }),
    );
    let stderr = "";
    let stdout = "";
    const code = await runEval(
      [
        "--dataset",
        "data/cases.jsonl",
        "--config",
        "mcp.json",
        "--out",
        "out/RESULTS.md",
        "--json",
        "out/results.json",
      ],
      { openaiBaseUrl: server.baseURL, openaiApiKey: "sk-eval-test", workingDirectory: directory },
      { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text) },
    );
    // The run itself went through (the default judge's answer is no verdict, so it is not judged).
    expect(stderr).toMatch(/\[1\/1\] with-mcp · harbour: /);
    expect([0, 1]).toContain(code);
    const toolResults = server.requests.flatMap((request) => request.toolResults);
    expect(toolResults.join("\n")).toContain(`account token ${REDACTED}`);
    const json = await readFile(join(directory, "out", "results.json"), "utf8");
    const markdown = await readFile(join(directory, "out", "RESULTS.md"), "utf8");
    // The configuration is written, its env value replaced.
    expect(json).toContain(`"ECHO_TOKEN": "${REDACTED}"`);
    for (const text of [json, markdown, stdout, stderr]) expect(text).not.toContain(MCP_TOKEN);
  }, 60_000);

  test("an MCP start error longer than the cut, with the token where the cut falls: no part of the token is printed", async () => {
    const token = "tok-Zr4Wn8Pq2Lm6Xc0Vb9Ty3Hs5";
    http = createServer((request, response) => {
      response.writeHead(500, { "content-type": "text/plain" });
      const url = `http://127.0.0.1:${port}/mcp`;
      // The cause starts with the adapters' words; the padding puts the token across character 300.
      const prefix = `Failed to connect to streamable HTTP server "wiki, url: ${url}": Error: Streamable HTTP error: Error POSTing to endpoint: `;
      const padding = "x".repeat(Math.max(0, 292 - prefix.length - "Bearer ".length - 1));
      response.end(`${padding} ${String(request.headers.authorization)} and more after it`);
    });
    await new Promise<void>((listening) => http!.listen(0, "127.0.0.1", listening));
    const port = (http.address() as { port: number }).port;
    await writeFile(
      join(directory, "mcp.json"),
      JSON.stringify({
        mcpServers: {
          wiki: {
            url: `http://127.0.0.1:${port}/mcp`,
            headers: { Authorization: `Bearer ${token}` },
          },
        },
      }),
    );
    server = await startOpenAIServer();
    const result = await runCli(["Harbours", "--mcp", "mcp.json"], {
      env: { OPENAI_BASE_URL: server.baseURL, OPENAI_API_KEY: OPENAI_KEY },
      directory,
    });
    expect(result.code).toBe(2);
    // The server's answer is quoted up to the cut, the token redacted rather than cut in two.
    expect(result.stderr).toMatch(/failed the MCP handshake \(.*xxxx \[redacted\]/);
    expect(result.stderr).not.toContain(token.slice(0, 6));
    expect(server.requests).toHaveLength(0);
  }, 60_000);
});
