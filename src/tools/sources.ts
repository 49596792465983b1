import { readdir, readFile, stat } from "node:fs/promises";
import { join, relative } from "node:path";
import MiniSearch from "minisearch";
import { tool } from "@langchain/core/tools";
import { z } from "zod";
import { InvalidInputError } from "../errors.js";
import { printable } from "../schemas/input.js";
import { formatResults, type ToolResult } from "./results.js";

const TEXT_FILE = /\.(md|markdown|mdx|txt|text|rst)$/i;
const SKIPPED_DIRECTORIES = new Set(["node_modules", ".git"]);
/** Most lines in one passage: long enough for context, short enough to cite precisely. */
const PASSAGE_LINES = 20;

/**
 * Largest source file read, in bytes: 4 MiB, a long book in plain text. Larger files (a log, a
 * data dump named .txt) would cost seconds and gigabytes to index for passages nobody cites; they
 * are skipped with a warning naming them.
 */
export const MAX_SOURCE_FILE_BYTES = 4 * 1024 * 1024;

interface Passage {
  id: number;
  path: string;
  startLine: number;
  endLine: number;
  text: string;
}

/**
 * A search tool over the Markdown and text files in `directory` (recursively): ranked passages,
 * each with its file path and line range, for a report on a team's own documents. Works offline.
 * Fails with an `InvalidInputError` when the directory cannot be read or holds no text files, and
 * when one of its text files cannot be read (no permission, say), naming that file: a report
 * silently written without some of the documents asked for would look complete. A file larger
 * than `maxFileBytes` is skipped, with one warning naming it (through `onWarning`; by default
 * `console.warn`, as "warning: ...").
 */
export async function createSourcesTool(options: {
  directory: string;
  maxResults?: number;
  /** Largest file read, in bytes (default `MAX_SOURCE_FILE_BYTES`). */
  maxFileBytes?: number;
  /** Receives a warning for each file skipped. */
  onWarning?: (message: string) => void;
}) {
  const passages = await readPassages(options.directory, {
    maxFileBytes: options.maxFileBytes ?? MAX_SOURCE_FILE_BYTES,
    warn: options.onWarning ?? ((message) => console.warn(`warning: ${message}`)),
  });
  const index = new MiniSearch<Passage>({ fields: ["text", "path"], storeFields: ["path"] });
  index.addAll(passages);
  const maxResults = options.maxResults ?? 4;
  return tool(
    ({ query }): string => {
      const hits = index.search(query, { prefix: true, fuzzy: 0.2, boost: { path: 2 } });
      const results: ToolResult[] = hits.slice(0, maxResults).map((hit) => {
        const passage = passages[hit.id as number]!;
        const lines = `${passage.startLine}-${passage.endLine}`;
        return {
          key: `${passage.path}:${lines}`,
          title: passage.path,
          location: `lines ${lines}`,
          text: passage.text,
        };
      });
      return formatResults(query, results);
    },
    {
      name: "search_sources",
      description:
        "Search the source library (the team's documents) for passages about a subject. Returns ranked passages with their citation keys.",
      schema: z.object({ query: z.string().describe("What to look for, in a few words.") }),
    },
  );
}

async function readPassages(
  directory: string,
  options: { maxFileBytes: number; warn: (message: string) => void },
): Promise<Passage[]> {
  const files = await textFiles(directory).catch((error: unknown) => {
    throw new InvalidInputError({
      field: "sources",
      message: `Cannot read the sources directory ${directory}: give --sources an existing, readable directory.`,
      cause: error,
    });
  });
  const passages: Passage[] = [];
  let skipped = 0;
  for (const file of files.sort()) {
    const path = relative(directory, file);
    // Checked before reading: a 97 MB file once took a minute and gigabytes to index.
    const size = (await stat(file).catch(() => undefined))?.size ?? 0;
    if (size > options.maxFileBytes) {
      skipped += 1;
      options.warn(
        `--sources: skipped ${printable(path)} (${megabytes(size)}, over the ${megabytes(options.maxFileBytes)} a source file may have): split it, or keep only the part to cite.`,
      );
      continue;
    }
    const lines = (await readSource(file, directory)).split("\n");
    for (const [first, last] of passageRanges(lines)) {
      const text = lines
        .slice(first, last + 1)
        .join("\n")
        .trim();
      passages.push({ id: passages.length, path, startLine: first + 1, endLine: last + 1, text });
    }
  }
  if (passages.length === 0) {
    throw new InvalidInputError({
      field: "sources",
      message: skipped
        ? `${directory} holds no Markdown or text files of at most ${megabytes(options.maxFileBytes)}: give --sources a directory of smaller .md or .txt files.`
        : `${directory} holds no Markdown or text files: give --sources a directory of .md or .txt files.`,
    });
  }
  return passages;
}

/** A size in bytes as people read it: "92.5 MiB", "4 MiB" for a whole number, "2 KiB" below a MiB. */
function megabytes(bytes: number): string {
  if (bytes < 1024 * 1024) return `${Math.ceil(bytes / 1024)} KiB`;
  const mebibytes = bytes / (1024 * 1024);
  return Number.isInteger(mebibytes) ? `${mebibytes} MiB` : `${mebibytes.toFixed(1)} MiB`;
}

async function readSource(file: string, directory: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InvalidInputError({
      field: "sources",
      message: `Cannot read ${printable(file)}${code ? ` (${code})` : ""}: make it readable, or move it out of ${printable(directory)}.`,
      cause: error,
    });
  }
}

async function textFiles(directory: string): Promise<string[]> {
  if (!(await stat(directory)).isDirectory()) throw new Error("not a directory");
  const found: string[] = [];
  for (const entry of await readdir(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    if (entry.isDirectory() && !SKIPPED_DIRECTORIES.has(entry.name))
      found.push(...(await textFiles(path)));
    else if (entry.isFile() && TEXT_FILE.test(entry.name)) found.push(path);
  }
  return found;
}

/**
 * Splits a document into passages (0-based inclusive line ranges): paragraphs, grouped while they
 * fit in `PASSAGE_LINES`; a Markdown heading always starts a new passage, and a paragraph longer
 * than the limit is cut into pieces.
 */
export function passageRanges(lines: string[]): [number, number][] {
  const blocks: [number, number][] = [];
  for (let line = 0; line < lines.length; line += 1) {
    if (lines[line]!.trim() === "") continue;
    let end = line;
    while (
      end + 1 < lines.length &&
      lines[end + 1]!.trim() !== "" &&
      end + 1 - line < PASSAGE_LINES
    )
      end += 1;
    blocks.push([line, end]);
    line = end;
  }
  const passages: [number, number][] = [];
  for (const [start, end] of blocks) {
    const current = passages[passages.length - 1];
    const heading = /^#{1,6}\s/.test(lines[start]!);
    if (current && !heading && end - current[0] < PASSAGE_LINES) current[1] = end;
    else passages.push([start, end]);
  }
  return passages;
}
