/**
 * Why one file of a code change could not be changed: a planned path that is unsafe or unusable,
 * a file too big or not text, an editor answer that changes nothing, git failing. A worker throws
 * it; the graph records its message in `failed` and the other files go on.
 */
export class CodeChangeError extends Error {
  /** The path as the planner gave it. */
  readonly path: string;

  constructor(options: { path: string; message: string; cause?: unknown }) {
    super(options.message, { cause: options.cause });
    this.name = "CodeChangeError";
    this.path = options.path;
  }

  /** True for a `CodeChangeError`, even from another copy of this module. */
  static isInstance(error: unknown): error is CodeChangeError {
    return error instanceof Error && error.name === "CodeChangeError" && "path" in error;
  }
}

/** A path as it appears in a message: quoted, control characters escaped, at most 120 characters. */
export function quoted(path: string): string {
  const shown = path.length > 120 ? `${path.slice(0, 119)}…` : path;
  return JSON.stringify(shown);
}
