import { constants } from "node:fs";
import { access, link, open, rename, stat, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import { InvalidInputError } from "../errors.js";

/**
 * Checks, before any work is done, that `path` can be written: its directory exists and is
 * writable, and the file is absent unless `force` is set.
 */
export async function checkWritable(path: string, options: { force: boolean }): Promise<void> {
  const directory = dirname(path);
  try {
    const info = await stat(directory);
    if (!info.isDirectory()) throw new Error("not a directory");
    await access(directory, constants.W_OK);
  } catch {
    throw new InvalidInputError({
      field: "out",
      message: `Cannot write to ${directory}: choose an --out path in an existing, writable directory.`,
    });
  }
  const existing = await stat(path).catch(() => undefined);
  if (existing?.isDirectory()) {
    throw new InvalidInputError({
      field: "out",
      message: `${path} is a directory: give a file path to --out.`,
    });
  }
  if (existing && !options.force) {
    throw new InvalidInputError({
      field: "out",
      message: `${path} already exists: pass --force to overwrite it, or choose another --out path.`,
    });
  }
}

/**
 * Writes `content` to `path` atomically: into a temporary file beside it, flushed, then moved into
 * place, so a crash never leaves a half-written report. Without `force`, an existing file is never
 * replaced, even one that appeared while the run was going.
 */
export async function writeFileAtomically(
  path: string,
  content: string,
  options: { force: boolean },
): Promise<void> {
  const temporary = `${path}.${process.pid}.${Date.now()}.tmp`;
  const handle = await open(temporary, "wx");
  try {
    await handle.writeFile(content, "utf8");
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    if (options.force) {
      await rename(temporary, path);
    } else {
      // link() fails when the target exists, which rename() would silently replace.
      await link(temporary, path);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") {
      throw new InvalidInputError({
        field: "out",
        message: `${path} appeared while the report was being written: pass --force to overwrite it.`,
        cause: error,
      });
    }
    throw error;
  } finally {
    await unlink(temporary).catch(() => undefined);
  }
}
