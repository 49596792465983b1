import { spawn } from "node:child_process";
import { resolve } from "node:path";

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

const CLI = resolve("src/cli.ts");

/**
 * Runs the CLI as a user would, in a child process (through tsx, like `npm run report`), with a
 * clean environment: no OpenAI or LangSmith variables unless `env` sets them.
 */
export function runCli(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string; stdin?: string } = {},
): Promise<CliResult> {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => !/^(OPENAI_|LANGSMITH_|LANGCHAIN_|INIT_CWD$)/.test(key),
    ),
  );
  const child = spawn(process.execPath, ["--import", "tsx", CLI, ...args], {
    cwd: options.cwd ?? process.cwd(),
    env: { ...inherited, ...options.env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.end(options.stdin ?? "");
  return new Promise((resolvePromise, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolvePromise({ code, stdout, stderr }));
  });
}
