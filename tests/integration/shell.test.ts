/** The CLI in a shell: the report on stdout, resuming by thread id alone, listing stored runs. */
import { access, mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  defaultPlan,
  startOllamaServer,
  startOpenAIServer,
  type OpenAIServer,
} from "../../src/testing/index.js";
import { headings } from "../helpers/report.js";
import { runCli } from "../helpers/run-cli.js";

describe("the CLI in a shell", () => {
  let directory: string;
  let server: OpenAIServer;

  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), "shell-"));
    server = await startOpenAIServer({ plan: defaultPlan(2) });
  });
  afterEach(async () => {
    await server.close();
  });

  test("--out - writes the report to stdout and nothing else there; progress stays on stderr", async () => {
    const result = await runCli(["How tides work", "--out", "-"], {
      env: { OPENAI_BASE_URL: server.baseURL },
      directory,
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^# How tides work\n/);
    expect(headings(result.stdout)).toEqual(["Part 1", "Part 2"]);
    expect(result.stderr).toMatch(/\[2\/2\] done: Part 2/);
    await expect(access(join(directory, "-"))).rejects.toThrow();
    await expect(access(join(directory, "report.md"))).rejects.toThrow();
  });

  test("--thread ID alone runs the stored thread again: its topic is stored, nothing is paid twice", async () => {
    const env = { OPENAI_BASE_URL: server.baseURL };
    const first = await runCli(["How tides work", "--thread", "tides", "--out", "a.md"], {
      env,
      directory,
    });
    expect(first.code).toBe(0);
    const requests = server.requests.length;
    const again = await runCli(["--thread", "tides", "--out", "b.md"], { env, directory });
    expect(again.stderr).toMatch(/^Re-running tides /m);
    expect(again.code).toBe(0);
    expect(server.requests.length).toBe(requests);
    expect(await readFile(join(directory, "b.md"), "utf8")).toMatch(/^# How tides work\n/);
  });

  test("--thread with an id that is not stored and no topic: exit 2, one line, nothing sent", async () => {
    const result = await runCli(["--thread", "never-run"], {
      env: { OPENAI_BASE_URL: server.baseURL },
      directory,
    });
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(/Thread never-run is not stored/);
    expect(server.requests).toHaveLength(0);
  });

  test("--model ollama:... runs against Ollama's native API; the ledger names the model", async () => {
    const ollama = await startOllamaServer({ plan: defaultPlan(2) });
    try {
      const result = await runCli(["How tides work", "--out", "-", "--model", "ollama:llama3.2"], {
        env: { OLLAMA_BASE_URL: ollama.baseUrl },
        directory,
      });
      expect(result.stderr).not.toMatch(/^error/m);
      expect(result.code).toBe(0);
      expect(headings(result.stdout)).toEqual(["Part 1", "Part 2"]);
      expect(ollama.requests.length).toBe(3);
      expect(server.requests).toHaveLength(0);
      expect(result.stderr).toMatch(/no price for llama3\.2/);
    } finally {
      await ollama.close();
    }
  });

  test("--model openai:... is the OpenAI-compatible server, as without the prefix", async () => {
    const result = await runCli(["How tides work", "--out", "-", "--model", "openai:local-model"], {
      env: { OPENAI_BASE_URL: server.baseURL },
      directory,
    });
    expect(result.code).toBe(0);
    expect(server.requests.map((request) => request.body.model)).toEqual([
      "local-model",
      "local-model",
      "local-model",
    ]);
  });

  test("a provider whose package is not installed: exit 2, one line naming it, nothing sent", async () => {
    const result = await runCli(["How tides work", "--model", "google-genai:gemini-2.0-flash"], {
      env: { OPENAI_BASE_URL: server.baseURL },
      directory,
    });
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(/needs the package @langchain\/google-genai/);
    expect(server.requests).toHaveLength(0);
  });

  test("runs lists the stored threads and runs prune deletes none that are recent", async () => {
    const env = { OPENAI_BASE_URL: server.baseURL };
    expect(
      (await runCli(["How tides work", "--thread", "t1", "--out", "-"], { env, directory })).code,
    ).toBe(0);
    const listed = await runCli(["runs"], { env, directory });
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^THREAD\s+STATUS\s+SECTIONS\s+COST\s+AGE\s+TOPIC$/m);
    expect(listed.stdout).toMatch(/^t1\s+complete\s+2\/2\s+\S+\s+\S+\s+How tides work$/m);
    const pruned = await runCli(["runs", "prune", "--older-than", "1d"], { env, directory });
    expect(pruned.code).toBe(0);
    expect(pruned.stdout).toMatch(/Deleted 0 of 1 stored runs\./);
    const bad = await runCli(["runs", "prune", "--older-than", "soon"], { env, directory });
    expect(bad.code).toBe(2);
    // Four CLI processes one after another: on a loaded machine each may take several seconds.
  }, 120_000);
});
