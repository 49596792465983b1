import { createHash } from "node:crypto";
import { constants, type Stats } from "node:fs";
import {
  access,
  link,
  lstat,
  open,
  readFile,
  readdir,
  realpath,
  rename,
  stat,
  unlink,
} from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { InvalidInputError, OrchestratorWorkersError } from "../errors.js";
import { printable } from "../schemas/input.js";

/** A path the report must never be written to, and what it is (for the message). */
export interface ForbiddenPath {
  path: string;
  /** What the path holds, e.g. "the run database (--db)". */
  what: string;
}

/**
 * The absolute path of the report file named by `--out` (relative to `workingDirectory`). Refuses
 * an empty path and one that ends with a slash (`-o sub/`), which names a directory, not a file.
 */
export function resolveOutPath(given: string, workingDirectory: string): string {
  if (given.trim() === "") {
    throw new InvalidInputError({
      field: "out",
      message: "--out is empty: give the path of the report file, e.g. report.md.",
    });
  }
  if (/[\\/]$/.test(given) || /(^|[\\/])\.{1,2}$/.test(given)) {
    throw new InvalidInputError({
      field: "out",
      message: `--out ${printable(given)} names a directory: give a file path, e.g. ${printable(given.replace(/[\\/]+$/, ""))}/report.md.`,
    });
  }
  return resolve(workingDirectory, given);
}

/** True when `directory` exists, is a directory, and this process may create files in it. */
export async function isWritableDirectory(directory: string): Promise<boolean> {
  try {
    const info = await stat(directory);
    if (!info.isDirectory()) return false;
    await access(directory, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The last line of every report file the CLI writes: an HTML comment (invisible once rendered)
 * with the SHA-256 of everything before it. It is how a re-run recognises a report it may
 * replace: a file that lacks it, or whose content no longer matches it (edited by hand), is the
 * user's and is kept.
 */
const MARKER_PREFIX = "<!-- Written by orchestrator-workers (sha256 ";
const MARKER = /^<!-- Written by orchestrator-workers \(sha256 ([0-9a-f]{64})\)[^\n]*-->$/;

/** Largest file `isUnchangedReport` reads: anything bigger is not taken for a report. */
const LARGEST_REPORT_BYTES = 256 * 1024 * 1024;

function sha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/** `report` as the CLI writes it to a file: ending with a blank line and the marker line. */
export function withReportMarker(report: string): string {
  const body = report.endsWith("\n") ? report : `${report}\n`;
  return `${body}\n${MARKER_PREFIX}${sha256(body)}); a re-run without --out replaces this file unless it was edited. -->\n`;
}

/**
 * True when `path` is a regular file (not a link) that this CLI wrote and nobody changed since:
 * its last line is the marker of `withReportMarker`, and the hash in it is that of the rest.
 */
export async function isUnchangedReport(path: string): Promise<boolean> {
  const info = await lstat(path).catch(() => undefined);
  if (!info?.isFile() || info.size > LARGEST_REPORT_BYTES) return false;
  const content = await readFile(path, "utf8").catch(() => undefined);
  if (content === undefined || !content.endsWith("\n")) return false;
  const start = content.lastIndexOf("\n", content.length - 2);
  const hash = MARKER.exec(content.slice(start + 1, -1))?.[1];
  // The marker follows the body and a blank line: the body is what ends before that blank line.
  return hash !== undefined && start > 0 && sha256(content.slice(0, start)) === hash;
}

/**
 * Checks, before any work is done, that the report can be written to `path`: its directory exists
 * and is writable, and `path` is absent, or (with `force`) a regular file that is none of the
 * `forbidden` paths (the run database), or (with `replaceUnchangedReport`, for the default
 * `report.md`) a report this CLI wrote that nobody changed since (`isUnchangedReport`). Refused
 * whatever `force` says: a symbolic link (even a dangling one: replacing it would not write where
 * it points), a directory, a device, FIFO or socket (`/dev/null`, `/dev/full`), and any forbidden
 * path, compared by real path and by inode so that `./x`, `sub/../x` and a hard link all count.
 * Throws an `InvalidInputError` saying what to do.
 */
export async function checkWritable(
  path: string,
  options: { force: boolean; forbidden?: ForbiddenPath[]; replaceUnchangedReport?: boolean },
): Promise<void> {
  const directory = dirname(path);
  if (!(await isWritableDirectory(directory))) {
    throw new InvalidInputError({
      field: "out",
      message: `Cannot write to ${printable(directory)}: choose an --out path in an existing, writable directory.`,
    });
  }
  const shown = printable(path);
  for (const forbidden of options.forbidden ?? []) {
    if (await samePath(path, forbidden.path)) {
      throw new InvalidInputError({
        field: "out",
        message: `${shown} is ${forbidden.what}: choose another --out path.`,
      });
    }
  }
  const existing = await lstat(path).catch(() => undefined);
  if (!existing) return;
  const kind = notRegularFile(existing);
  if (kind === "a symbolic link") {
    throw new InvalidInputError({
      field: "out",
      message: `${shown} is a symbolic link: give the path of a regular file (not a link) to --out.`,
    });
  }
  if (kind === "a directory") {
    throw new InvalidInputError({
      field: "out",
      message: `${shown} is a directory: give a file path to --out.`,
    });
  }
  if (kind) {
    throw new InvalidInputError({
      field: "out",
      message: `${shown} is ${kind}, not a regular file: only a regular file can be replaced; choose another --out path.`,
    });
  }
  if (options.force) return;
  if (options.replaceUnchangedReport) {
    if (await isUnchangedReport(path)) return;
    throw new InvalidInputError({
      field: "out",
      message: `${shown} already exists and is not a report this CLI wrote (or it was edited since): pass --force to overwrite it, or choose another --out path.`,
    });
  }
  throw new InvalidInputError({
    field: "out",
    message: `${shown} already exists: pass --force to overwrite it, or choose another --out path.`,
  });
}

/** What `info` (from `lstat`) is when it is not a regular file, as words; undefined for a file. */
export function notRegularFile(info: Stats): string | undefined {
  if (info.isFile()) return undefined;
  if (info.isSymbolicLink()) return "a symbolic link";
  if (info.isDirectory()) return "a directory";
  if (info.isFIFO()) return "a FIFO (named pipe)";
  if (info.isSocket()) return "a socket";
  if (info.isCharacterDevice() || info.isBlockDevice()) return "a device";
  return "not a regular file";
}

/**
 * True when `a` and `b` name the same file: the same real path (symbolic links and `..` resolved,
 * for a file that does not exist yet through its directory's real path), or the same inode.
 */
export async function samePath(a: string, b: string): Promise<boolean> {
  if ((await canonicalPath(a)) === (await canonicalPath(b))) return true;
  const [first, second] = await Promise.all([stat(a).catch(() => null), stat(b).catch(() => null)]);
  return Boolean(first && second && first.dev === second.dev && first.ino === second.ino);
}

/** The real path of `path`, or of its directory joined with its name when it does not exist. */
export async function canonicalPath(path: string): Promise<string> {
  const absolute = resolve(path);
  try {
    return await realpath(absolute);
  } catch {
    try {
      return join(await realpath(dirname(absolute)), basename(absolute));
    } catch {
      return absolute;
    }
  }
}

/** Writing the report file failed (a full disk, a folder that became read-only): nothing was replaced. */
export class ReportFileError extends OrchestratorWorkersError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ReportFileError", message, options);
  }

  static override isInstance(error: unknown): error is ReportFileError {
    return OrchestratorWorkersError.isInstance(error) && error.name === "ReportFileError";
  }
}

/** The name of the temporary file `writeFileAtomically` writes beside `path`. */
function temporaryName(path: string): string {
  return `${path}.${process.pid}.${Date.now()}.tmp`;
}

/**
 * Removes the temporary files an earlier write of `path` left behind when its process was killed:
 * files beside it named exactly `<name>.<pid>.<milliseconds>.tmp` whose process is no longer
 * running (this process's own pid counts as gone: it has no write of its own under way). Files
 * of a process still alive, other names, and anything not a regular file are left alone.
 * Returns the paths removed.
 */
export async function removeStaleTemporaryFiles(path: string): Promise<string[]> {
  const directory = dirname(path);
  const prefix = `${basename(path)}.`;
  const removed: string[] = [];
  const names = await readdir(directory).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const match = /^(\d+)\.(\d+)\.tmp$/.exec(name.slice(prefix.length));
    if (!match) continue;
    const pid = Number(match[1]);
    if (pid !== process.pid && isRunning(pid)) continue;
    const candidate = join(directory, name);
    const info = await lstat(candidate).catch(() => undefined);
    if (!info?.isFile()) continue;
    await unlink(candidate).then(
      () => removed.push(candidate),
      () => undefined,
    );
  }
  return removed;
}

function isRunning(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid < 1) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Writes `content` to `path` atomically: into a temporary file beside it
 * (`<path>.<pid>.<milliseconds>.tmp`), flushed, then moved into place, so a crash never leaves a
 * half-written report. First removes the temporary files a killed earlier write left (see
 * `removeStaleTemporaryFiles`); when writing fails (a full disk), removes its own and throws a
 * `ReportFileError`, having replaced nothing. Without `force`, an existing file is never
 * replaced, even one that appeared while the run was going, except (with
 * `replaceUnchangedReport`) a report this CLI wrote that is still unchanged when the new one is
 * moved into place; with `force`, only a regular file is (a link, directory or device that
 * appeared at `path` since `checkWritable` is refused).
 */
export async function writeFileAtomically(
  path: string,
  content: string,
  options: { force: boolean; replaceUnchangedReport?: boolean },
): Promise<void> {
  await removeStaleTemporaryFiles(path);
  const temporary = temporaryName(path);
  try {
    const handle = await open(temporary, "wx");
    try {
      await handle.writeFile(content, "utf8");
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === "ENOSPC" || code === "EDQUOT"
        ? "no space left on the device"
        : code === "EFBIG"
          ? "the file is larger than this process may write"
          : ((error as Error).message ?? String(error));
    throw new ReportFileError(
      `Cannot write the report to ${printable(path)}: ${reason}. Nothing was replaced.`,
      { cause: error },
    );
  }
  try {
    if (options.force) {
      const existing = await lstat(path).catch(() => undefined);
      const kind = existing && notRegularFile(existing);
      if (kind) {
        throw new InvalidInputError({
          field: "out",
          message: `${printable(path)} became ${kind} while the report was being written: only a regular file can be replaced; choose another --out path.`,
        });
      }
      await rename(temporary, path);
    } else if (options.replaceUnchangedReport && (await isUnchangedReport(path))) {
      // Checked again now, not only before the run: a report edited meanwhile is the user's. (An
      // edit saved between this check and the rename would still be lost: a window of a few
      // system calls.)
      await rename(temporary, path);
    } else {
      // link() fails when the target exists, which rename() would silently replace.
      await link(temporary, path);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") {
      throw new InvalidInputError({
        field: "out",
        message: options.replaceUnchangedReport
          ? `${printable(path)} was created or edited while the report was being written: pass --force to overwrite it.`
          : `${printable(path)} appeared while the report was being written: pass --force to overwrite it.`,
        cause: error,
      });
    }
    throw error;
  } finally {
    await unlink(temporary).catch(() => undefined);
  }
}
