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
 * clean environment: no OpenAI, LangSmith or database variables unless `env` sets them. `directory`
 * is where the user "is" (`INIT_CWD`, as under `npm run`): relative paths and the run database go there.
 */
export function runCli(
  args: string[],
  options: { env?: Record<string, string>; directory: string; stdin?: string },
): Promise<CliResult> {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) =>
        !/^(OPENAI_|LANGSMITH_|LANGCHAIN_|POSTGRES_URL$|DATABASE_URL$|INIT_CWD$)/.test(key),
    ),
  );
  const child = spawn(process.execPath, ["--import", "tsx", CLI, ...args], {
    cwd: process.cwd(),
    env: { ...inherited, INIT_CWD: options.directory, ...options.env },
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
