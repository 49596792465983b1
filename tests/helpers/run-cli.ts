import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { resolve } from "node:path";
import { cleanEnvironment } from "./process.js";

export interface CliResult {
  code: number | null;
  signal?: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The built CLI, what the package's `bin` runs (tests/helpers/global-setup.js builds it first). */
const CLI = resolve("dist/cli/main.js");

/**
 * Runs the CLI as a user would, in a child process (the built `bin`), with a
 * clean environment: no OpenAI, LangSmith or database variables unless `env` sets them. `directory`
 * is where the user "is" (`INIT_CWD`, as under `npm run`): relative paths and the run database go there.
 */
export function runCli(
  args: string[],
  options: { env?: Record<string, string>; directory: string; stdin?: string },
): Promise<CliResult> {
  return startCli(args, options).result;
}

/** A CLI process that is still running: its output so far, and a way to wait for a line. */
export interface RunningCli {
  child: ChildProcessWithoutNullStreams;
  result: Promise<CliResult>;
  /** Resolves once stderr matches `pattern` (rejects if the process ends first). */
  waitForStderr(pattern: RegExp): Promise<void>;
}

/** Starts the CLI like `runCli`, without waiting for it: for tests that kill it mid-run. */
export function startCli(
  args: string[],
  options: { env?: Record<string, string>; directory: string; stdin?: string },
): RunningCli {
  const inherited = cleanEnvironment();
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: process.cwd(),
    env: { ...inherited, INIT_CWD: options.directory, ...options.env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  const watchers: { pattern: RegExp; resolve: () => void }[] = [];
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
    for (const watcher of watchers.filter((candidate) => candidate.pattern.test(stderr))) {
      watchers.splice(watchers.indexOf(watcher), 1);
      watcher.resolve();
    }
  });
  child.stdin.end(options.stdin ?? "");
  const result = new Promise<CliResult>((resolvePromise, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => resolvePromise({ code, signal, stdout, stderr }));
  });
  return {
    child,
    result,
    waitForStderr: (pattern) =>
      new Promise<void>((resolveWait, reject) => {
        if (pattern.test(stderr)) return resolveWait();
        watchers.push({ pattern, resolve: resolveWait });
        void result.then(() =>
          reject(new Error(`CLI ended before stderr matched ${pattern}:\n${stderr}`)),
        );
      }),
  };
}
