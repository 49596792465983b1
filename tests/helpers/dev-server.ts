import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { resolve } from "node:path";
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

/**
 * Starts `langgraphjs dev` (the LangGraph CLI's dev server, loading this repo's langgraph.json) on
 * a free port on 127.0.0.1, with no browser, no reload and no analytics, and waits until it answers.
 */
export async function startDevServer(env: Record<string, string>): Promise<DevServer> {
  const port = await freePort();
  const bin = resolve("node_modules/.bin/langgraphjs");
  const inherited = cleanEnvironment();
  const child: ChildProcess = spawn(
    bin,
    ["dev", "--port", String(port), "--host", "127.0.0.1", "--no-browser", "--no-reload"],
    {
      cwd: resolve("."),
      env: { ...inherited, LANGGRAPH_CLI_NO_ANALYTICS: "1", ...env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    },
  );
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const apiUrl = `http://127.0.0.1:${port}`;
  const close = async () => {
    if (child.exitCode !== null || child.pid === undefined) return;
    const exited = new Promise<void>((done) => child.once("exit", () => done()));
    process.kill(-child.pid, "SIGTERM");
    const timer = setTimeout(() => child.pid && process.kill(-child.pid, "SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`The dev server exited:\n${output}`);
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
