/**
 * The evaluation's inputs: a dataset of cases (JSONL, one case a line) and the configurations to
 * run them under (JSON files of configuration fields). Everything here is checked before any
 * model is called; a bad line or file is an `InvalidInputError` naming it.
 */
import { readFile, stat } from "node:fs/promises";
import { basename, dirname, resolve } from "node:path";
import { z } from "zod";
import { InvalidInputError } from "../src/errors.js";
import { ConfigurationSchema, resolveConfiguration } from "../src/schemas/configuration.js";

/** One line of a dataset file. */
export const EvalCaseSchema = z
  .object({
    id: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "letters, digits, '.', '-' and '_'")
      .optional()
      .describe(
        "The case's name in tables and in LangSmith; unique in its dataset. Derived from the topic when absent (see `derivedIds`).",
      ),
    topic: z.string().trim().min(1).describe("The report's topic."),
    sources: z
      .string()
      .trim()
      .min(1)
      .optional()
      .describe("Folder of Markdown or text sources, relative to the dataset file."),
    plan: z
      .array(
        z
          .object({
            name: z.string().trim().min(1),
            description: z.string().trim().min(1),
            dependsOn: z.array(z.string()).optional(),
          })
          .strict(),
      )
      .min(1)
      .optional()
      .describe("A ready-made plan (skips the planner): the sections to write, in order."),
    referenceNotes: z
      .string()
      .optional()
      .describe("What a good report says, for the judge (not shown to the writers)."),
    requiredFacts: z
      .array(z.string().trim().min(1))
      .optional()
      .describe("Phrases the report must contain (case and punctuation ignored)."),
  })
  .strict();

/** A case as the harness runs it: the sources folder resolved to an absolute path. */
export type EvalCase = Omit<z.output<typeof EvalCaseSchema>, "sources" | "id"> & {
  /** The case's id: the line's own, or one derived from its topic. */
  id: string;
  /** Absolute path of the case's sources folder. */
  sources?: string;
  /** The line of the dataset file the case is on (1-based). */
  line: number;
};

/** A dataset file, read and checked. */
export interface Dataset {
  /** Absolute path of the file. */
  file: string;
  /** The file's name without `.jsonl`: the dataset's name in LangSmith. */
  name: string;
  cases: EvalCase[];
}

/**
 * Reads a JSONL dataset: one case a line, blank lines ignored; only `topic` is required, and a
 * line without an `id` gets one derived from its topic (`derivedIds`). Each line is validated; the
 * first bad one (not JSON, wrong shape, duplicate id, missing sources folder) is refused with an
 * `InvalidInputError` whose one-line message names the file and line.
 */
export async function readDataset(file: string): Promise<Dataset> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new InvalidInputError({
      field: "dataset",
      message: `Cannot read the dataset ${file} (${(error as NodeJS.ErrnoException).code ?? "error"}).`,
      cause: error,
    });
  }
  const cases: (Omit<EvalCase, "id"> & { id?: string })[] = [];
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  for (const [index, line] of lines.entries()) {
    if (line.trim() === "") continue;
    const where = `${file}:${index + 1}`;
    const refuse = (problem: string, cause?: unknown): never => {
      throw new InvalidInputError({
        field: "dataset",
        message: `${where}: ${problem}`,
        cause,
      });
    };
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (error) {
      refuse(`not a JSON object (${(error as Error).message}).`, error);
    }
    const result = EvalCaseSchema.safeParse(parsed);
    if (!result.success) {
      const issue = result.error.issues[0]!;
      const field = issue.path.map(String).join(".") || "case";
      refuse(`${field}: ${issue.message}.`, result.error);
    }
    const value = result.data!;
    if (value.id !== undefined && cases.some((existing) => existing.id === value.id)) {
      refuse(`id "${value.id}" is already used by another case.`);
    }
    const sources = value.sources === undefined ? undefined : resolve(dirname(file), value.sources);
    if (sources !== undefined) {
      const isDirectory = await stat(sources).then(
        (found) => found.isDirectory(),
        () => false,
      );
      if (!isDirectory) refuse(`sources: ${sources} is not a folder.`);
    }
    cases.push({ ...value, sources, line: index + 1 });
  }
  if (cases.length === 0) {
    throw new InvalidInputError({ field: "dataset", message: `${file} holds no cases.` });
  }
  const ids = derivedIds(cases);
  return {
    file,
    name: basename(file).replace(/\.jsonl?$/i, ""),
    cases: cases.map((evalCase, index) => ({ ...evalCase, id: ids[index]! })),
  };
}

/** Longest id derived from a topic, before a `-2` that tells two of one topic apart. */
const MAX_DERIVED_ID_LENGTH = 60;

/**
 * Every case's id: its own, else a slug of its topic ("How tides work" is `how-tides-work`), so
 * that the id of a case stays the same when lines are added, removed or reordered around it, and
 * results of two runs of a changed file still line up (a line number would not). A slug that
 * another case has, as its own id or derived earlier in the file, gets the first free `-2`, `-3`...;
 * ids the file gives are never taken, wherever they come. A topic with no ASCII letter or digit
 * (written in another script) is `line-<n>`, its line number. Deterministic: the same file gives
 * the same ids.
 */
function derivedIds(cases: { id?: string; topic: string; line: number }[]): string[] {
  const taken = new Set(
    cases.flatMap((evalCase) => (evalCase.id === undefined ? [] : [evalCase.id])),
  );
  return cases.map((evalCase) => {
    if (evalCase.id !== undefined) return evalCase.id;
    const slug =
      evalCase.topic
        .normalize("NFKD")
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, "-")
        .slice(0, MAX_DERIVED_ID_LENGTH)
        .replace(/^-+|-+$/g, "") || `line-${evalCase.line}`;
    let id = slug;
    for (let copy = 2; taken.has(id); copy += 1) id = `${slug}-${copy}`;
    taken.add(id);
    return id;
  });
}

/** A configuration to run every case under: a name and the configuration fields it sets. */
export interface EvalConfiguration {
  /** Its name in tables: the file's `"name"`, else the file name without `.json`. */
  name: string;
  /** The file it came from (absent for the default configuration). */
  file?: string;
  /** The configuration fields the file sets (as `configurable` of each run). */
  fields: Record<string, unknown>;
}

const CONFIGURATION_FIELDS = new Set(Object.keys(ConfigurationSchema.shape));

/**
 * Reads a configuration file: a JSON object of configuration fields plus an optional `"name"`.
 * Unknown fields are refused (a misspelt `sectionReveiw` would otherwise run the default), and
 * the fields are validated as a run would validate them.
 */
export async function readConfiguration(file: string): Promise<EvalConfiguration> {
  const refuse = (problem: string, cause?: unknown): never => {
    throw new InvalidInputError({ field: "config", message: `${file}: ${problem}`, cause });
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, "utf8"));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    refuse(code ? `cannot be read (${code}).` : `not JSON (${(error as Error).message}).`, error);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    refuse("not a JSON object of configuration fields.");
  }
  const { name, ...fields } = parsed as Record<string, unknown>;
  if (name !== undefined && (typeof name !== "string" || name.trim() === "")) {
    refuse('"name" must be a non-empty string.');
  }
  const unknown = Object.keys(fields).filter((key) => !CONFIGURATION_FIELDS.has(key));
  if (unknown.length > 0) refuse(`unknown configuration field "${unknown[0]}".`);
  try {
    resolveConfiguration({ configurable: fields });
  } catch (error) {
    refuse((error as Error).message, error);
  }
  return {
    name: typeof name === "string" ? name.trim() : basename(file).replace(/\.json$/i, ""),
    file,
    fields,
  };
}
