import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { cleanEnvironment } from "./process.js";

/** A running LangGraph dev server (the one Studio talks to). */
export interface DevServer {
  apiUrl: string;
  /** Everything the server printed, for failure messages. */
  output(): string;
  close(): Promise<void>;
}

/** A port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as { port: number };
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

/** Where a dev server runs and what it serves. */
export interface DevServerOptions {
  /** The server's working directory; defaults to the repository root. */
  cwd?: string;
  /**
   * A langgraph.json to serve instead of the repository's. It is served from a copy in a fresh
   * temporary directory (its paths made absolute), removed on close: the dev server keeps its
   * threads and runs in `.langgraph_api` beside its config and loads them on start, so two servers
   * or two test runs would otherwise share them.
   */
  config?: string;
}

/**
 * Starts `langgraphjs dev` (the LangGraph CLI's dev server, loading this repo's langgraph.json or
 * `options.config`) on a free port on 127.0.0.1, with no browser, no reload and no analytics, and
 * waits until it answers.
 */
export async function startDevServer(
  env: Record<string, string>,
  options: DevServerOptions = {},
): Promise<DevServer> {
  const port = await freePort();
  const bin = resolve("node_modules/.bin/langgraphjs");
  const inherited = cleanEnvironment();
  const project = options.config ? await isolatedProject(options.config) : undefined;
  const child: ChildProcess = spawn(
    bin,
    [
      "dev",
      "--port",
      String(port),
      "--host",
      "127.0.0.1",
      "--no-browser",
      "--no-reload",
      ...(project ? ["--config", project.config] : []),
    ],
    {
      cwd: resolve(options.cwd ?? "."),
      env: { ...inherited, LANGGRAPH_CLI_NO_ANALYTICS: "1", ...env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    },
  );
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const apiUrl = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.pid === undefined) return;
    const exited = new Promise<void>((done) => child.once("exit", () => done()));
    process.kill(-child.pid, "SIGTERM");
    const timer = setTimeout(() => child.pid && process.kill(-child.pid, "SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  };
  const close = async () => {
    await stop();
    await project?.remove();
  };
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      await project?.remove();
      throw new Error(`The dev server exited:\n${output}`);
    }
    try {
      const response = await fetch(`${apiUrl}/ok`);
      if (response.ok) return { apiUrl, output: () => output, close };
    } catch {
      // not listening yet
    }
    await new Promise((done) => setTimeout(done, 250));
  }
  await close();
  throw new Error(`The dev server did not answer within 90 s:\n${output}`);
}

/**
 * A copy of the langgraph.json at `config` in a fresh temporary directory, so the server's
 * `.langgraph_api` state is its own. Its graph paths are rewritten relative to the copy, not made
 * absolute: the dev server joins (not resolves) the first one onto its project directory to find
 * `@langchain/langgraph`, so an absolute path would point into the temporary directory.
 */
async function isolatedProject(
  config: string,
): Promise<{ config: string; remove(): Promise<void> }> {
  const source = resolve(config);
  const from = dirname(source);
  const parsed = JSON.parse(await readFile(source, "utf8")) as {
    graphs: Record<string, string | { path: string }>;
    env?: unknown;
  };
  const directory = await mkdtemp(join(tmpdir(), "langgraph-dev-"));
  const moved = (spec: string) => {
    const [file, exportName] = spec.split(":", 2);
    const path = relative(directory, resolve(from, file!));
    return exportName === undefined ? path : `${path}:${exportName}`;
  };
  const graphs = Object.fromEntries(
    Object.entries(parsed.graphs).map(([id, spec]) => [
      id,
      typeof spec === "string" ? moved(spec) : { ...spec, path: moved(spec.path) },
    ]),
  );
  const env = typeof parsed.env === "string" ? resolve(from, parsed.env) : parsed.env;
  const copy = join(directory, "langgraph.json");
  await writeFile(copy, JSON.stringify({ ...parsed, graphs, ...(env ? { env } : {}) }, null, 2));
  return {
    config: copy,
    remove: () => rm(directory, { recursive: true, force: true }),
  };
}
