import { constants, readdirSync, realpathSync, statSync } from "node:fs";
import { chmod, lstat, mkdir, mkdtemp, open, realpath, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join, relative, sep } from "node:path";
import { InvalidInputError } from "../../src/errors.js";
import { CodeChangeError, quoted } from "./errors.js";

/** Directories never listed for the planner (a planned path inside `.git` is refused too). */
const SKIPPED_DIRECTORIES = new Set([".git", "node_modules"]);

/** A file of the folder, checked and ready to read: its path in the patch and on disk. */
export interface FolderFile {
  /** Relative to the folder, `/`-separated, without `.` segments: the path in the patch. */
  path: string;
  /** Absolute path inside the folder's real path. */
  absolute: string;
}

/** A file's content as read: the bytes, their text, and the file's permission bits. */
export interface FileContent {
  bytes: Buffer;
  text: string;
  mode: number;
}

/**
 * The folder's real path (symbolic links resolved), checked to be a directory: every planned path
 * is resolved under it and compared with it. Throws an `InvalidInputError` naming `root`.
 */
export function folderRoot(root: string): string {
  let real: string;
  try {
    real = realpathSync(root);
  } catch (error) {
    throw new InvalidInputError({
      field: "root",
      message: `The folder ${quoted(root)} does not exist: give the folder to change.`,
      cause: error,
    });
  }
  if (!statSync(real).isDirectory()) {
    throw new InvalidInputError({
      field: "root",
      message: `${quoted(root)} is not a folder: give the folder to change.`,
    });
  }
  return real;
}

/**
 * The folder's regular files, paths only, sorted, depth first: what the planner chooses from. Skips
 * `.git`, `node_modules` and symbolic links (never followed), and stops at `limit` files or after
 * visiting 20 times as many entries, so a huge tree costs a bounded walk and a bounded prompt.
 */
export function listFiles(root: string, limit: number): { files: string[]; complete: boolean } {
  const files: string[] = [];
  let budget = limit * 20;
  const walk = (directory: string, prefix: string): boolean => {
    let entries;
    try {
      entries = readdirSync(directory, { withFileTypes: true });
    } catch (error) {
      // An unreadable subfolder is left out of the list; the folder itself must be readable.
      if (prefix === "") throw error;
      return true;
    }
    entries.sort((left, right) => (left.name < right.name ? -1 : left.name > right.name ? 1 : 0));
    for (const entry of entries) {
      budget -= 1;
      if (budget < 0 || files.length >= limit) return false;
      const path = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.isFile()) files.push(path);
      else if (entry.isDirectory() && !SKIPPED_DIRECTORIES.has(entry.name)) {
        if (!walk(join(directory, entry.name), path)) return false;
      }
    }
    return true;
  };
  const complete = walk(root, "");
  return { files, complete };
}

/**
 * Checks a planned path and finds its file, touching nothing outside the folder:
 * 1. text without control characters or backslashes, not absolute, no `..` segment, not the
 *    folder itself, not inside `.git` (lexical checks, before any file system call);
 * 2. the file exists (`lstat` of the joined path, so a link is not followed);
 * 3. its real path is the joined path itself: no symbolic link anywhere on the way, so it cannot
 *    lead outside the folder, and `git apply` (which refuses paths beyond a link) accepts it;
 * 4. it is a regular file.
 * Throws a `CodeChangeError` that says which rule the path breaks.
 */
export async function resolveFile(root: string, given: string): Promise<FolderFile> {
  const refuse = (reason: string, cause?: unknown) =>
    new CodeChangeError({ path: given, message: `${quoted(given)} ${reason}`, cause });
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(given)) {
    throw refuse("has control characters: give a plain path relative to the folder.");
  }
  if (given.includes("\\")) {
    throw refuse("has backslashes: give a path relative to the folder, with forward slashes.");
  }
  if (isAbsolute(given) || /^[A-Za-z]:/.test(given)) {
    throw refuse("is absolute: give a path relative to the folder.");
  }
  const segments = given.split("/").filter((segment) => segment !== "" && segment !== ".");
  if (segments.includes("..")) {
    throw refuse('leaves the folder (it has a ".." segment): give a path inside the folder.');
  }
  if (segments.length === 0) throw refuse("names the folder itself, not a file in it.");
  if (segments.some((segment) => segment.toLowerCase() === ".git")) {
    throw refuse("is inside .git: only the folder's own files can be changed.");
  }
  const path = segments.join("/");
  const absolute = join(root, ...segments);
  let stats;
  try {
    stats = await lstat(absolute);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") {
      throw refuse(
        "does not exist in the folder: plan only existing files (new files are not supported).",
        error,
      );
    }
    throw refuse(`cannot be read (${code ?? String(error)}).`, error);
  }
  const real = await realpath(absolute).catch((error: unknown) => {
    throw refuse("is a symbolic link that leads nowhere: give the file itself.", error);
  });
  if (real !== absolute) {
    const inside = relative(root, real);
    const outside = inside === ".." || inside.startsWith(`..${sep}`) || isAbsolute(inside);
    throw refuse(
      outside
        ? "is a symbolic link (or goes through one) that leads outside the folder: give a file inside it."
        : "goes through a symbolic link: give the file's own path in the folder.",
    );
  }
  if (!stats.isFile()) {
    throw refuse(
      `is not a regular file (${stats.isDirectory() ? "a directory" : "a special file"}): give a file.`,
    );
  }
  return { path, absolute };
}

/**
 * A checked file's content, refused before it is read into memory (or a prompt) when it is over
 * `maxBytes`, and refused when it is binary (a NUL byte) or not UTF-8. Opened without following a
 * link, its size taken from the open file, so a file swapped after the checks is still bounded.
 */
export async function readTextFile(file: FolderFile, maxBytes: number): Promise<FileContent> {
  const refuse = (reason: string, cause?: unknown) =>
    new CodeChangeError({ path: file.path, message: `${quoted(file.path)} ${reason}`, cause });
  const handle = await open(file.absolute, constants.O_RDONLY | constants.O_NOFOLLOW).catch(
    (error: unknown) => {
      throw refuse(`cannot be opened (${(error as NodeJS.ErrnoException).code}).`, error);
    },
  );
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw refuse("is not a regular file: give a file.");
    if (stats.size > maxBytes) {
      throw refuse(
        `is ${stats.size} bytes, over the ${maxBytes}-byte bound (maxFileBytes): split the change or raise the bound.`,
      );
    }
    const bytes = await handle.readFile();
    if (bytes.length > maxBytes) throw refuse(`grew over the ${maxBytes}-byte bound while read.`);
    if (bytes.includes(0)) throw refuse("is a binary file: only text files can be changed.");
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
    } catch (error) {
      throw refuse("is not UTF-8 text: only UTF-8 files can be changed.", error);
    }
    return { bytes, text, mode: stats.mode & 0o777 };
  } finally {
    await handle.close();
  }
}

/**
 * Runs `use` with a fresh scratch directory under `parent` (the system's temporary directory by
 * default) and removes the directory afterwards, whether `use` returned or threw.
 */
export async function withScratchDirectory<T>(
  parent: string | undefined,
  use: (directory: string) => Promise<T>,
): Promise<T> {
  const directory = await mkdtemp(join(parent ?? tmpdir(), "code-change-"));
  try {
    return await use(directory);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

/**
 * Writes `bytes` to `directory/path` with the given permission bits (set after writing, so the
 * umask cannot make the two copies of a file differ in mode), making its folders.
 */
export async function writeCopy(
  directory: string,
  path: string,
  bytes: Uint8Array | string,
  mode: number,
): Promise<void> {
  const target = join(directory, ...path.split("/"));
  await mkdir(dirname(target), { recursive: true });
  await writeFile(target, bytes);
  await chmod(target, mode);
}
