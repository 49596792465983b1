import { spawn } from "node:child_process";
import { CodeChangeError, quoted } from "./errors.js";

/** Most bytes kept of a git command's output; a diff of two bounded files stays well below. */
const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

/** What a git command did: its exit code and output. */
interface GitRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs git with arguments as an array (no shell), in `cwd`, with `input` on stdin. Resolves with
 * the exit code, whatever it is; rejects when git cannot be started or its output is too long.
 */
function runGit(
  args: string[],
  options: { cwd: string; input?: string; signal?: AbortSignal; path: string },
): Promise<GitRun> {
  return new Promise((resolve, reject) => {
    const child = spawn("git", args, {
      cwd: options.cwd,
      stdio: ["pipe", "pipe", "pipe"],
      signal: options.signal,
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let size = 0;
    const collect = (into: Buffer[]) => (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_OUTPUT_BYTES) {
        child.kill();
        reject(
          new CodeChangeError({
            path: options.path,
            message: `git ${args[0]} wrote more than ${MAX_OUTPUT_BYTES} bytes for ${quoted(options.path)}.`,
          }),
        );
        return;
      }
      into.push(chunk);
    };
    child.stdout.on("data", collect(stdout));
    child.stderr.on("data", collect(stderr));
    child.on("error", (error: NodeJS.ErrnoException) => {
      reject(
        error.code === "ENOENT"
          ? new CodeChangeError({
              path: options.path,
              message: "git was not found on the PATH: install git to compute and check diffs.",
              cause: error,
            })
          : error,
      );
    });
    child.on("close", (code) => {
      resolve({
        code: code ?? -1,
        stdout: Buffer.concat(stdout).toString("utf8"),
        stderr: Buffer.concat(stderr).toString("utf8").trim(),
      });
    });
    // git may exit before reading all of stdin (a refused patch); that is not an error here.
    child.stdin.on("error", () => {});
    child.stdin.end(options.input ?? "");
  });
}

/**
 * The unified diff from `directory/a/<path>` to `directory/b/<path>`, by `git diff --no-index`
 * run in `directory` with `--no-prefix`, so its headers read `a/<path>` and `b/<path>` as a
 * repository's diff would. No color, external diff tools or text conversion from the user's git
 * configuration. Empty when the copies are the same.
 */
export async function diffCopies(options: {
  directory: string;
  path: string;
  signal?: AbortSignal;
}): Promise<string> {
  const { directory, path, signal } = options;
  const run = await runGit(
    [
      "diff",
      "--no-index",
      "--no-prefix",
      "--no-color",
      "--no-ext-diff",
      "--no-textconv",
      "--",
      `a/${path}`,
      `b/${path}`,
    ],
    { cwd: directory, signal, path },
  );
  // git diff --no-index exits 1 when the files differ, 0 when they are the same.
  if (run.code === 0) return "";
  if (run.code === 1 && run.stdout) return run.stdout;
  throw new CodeChangeError({
    path,
    message: `git diff failed for ${quoted(path)} (exit ${run.code}): ${run.stderr || "no message"}`,
  });
}

/**
 * Whether `git apply --check` accepts `patch` on the folder, with git's reason when not. Read-only:
 * `--check` writes neither the files nor the index. When the folder is a subfolder of a
 * repository, git reads patch paths from the repository's top and silently skips those outside
 * the current folder, so the folder's prefix is passed as `--directory`.
 */
export async function checkPatch(options: {
  root: string;
  patch: string;
  signal?: AbortSignal;
}): Promise<{ applies: boolean; message?: string }> {
  const { root, patch, signal } = options;
  const where = await runGit(["rev-parse", "--show-prefix"], { cwd: root, signal, path: "." });
  const prefix = where.code === 0 ? where.stdout.trim() : "";
  const run = await runGit(
    ["apply", "--check", ...(prefix ? [`--directory=${prefix}`] : []), "-"],
    { cwd: root, input: patch, signal, path: "." },
  );
  return run.code === 0
    ? { applies: true }
    : { applies: false, message: run.stderr || `git apply --check exited ${run.code}` };
}
