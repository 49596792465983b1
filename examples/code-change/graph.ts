/**
 * A code change as an orchestrator-workers graph: the planner picks the files a request needs
 * changed, one worker per file edits a copy of it and returns its unified diff, and the
 * synthesizer assembles one patch, in plan order, that `git apply --check` accepts on the folder.
 * The folder itself is only ever read.
 */
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { HumanMessage, SystemMessage } from "@langchain/core/messages";
import type { LangGraphRunnableConfig } from "@langchain/langgraph";
import { join } from "node:path";
import { z } from "zod";
import {
  createOrchestratorWorkers,
  type PlannedSubtask,
  type WorkerInput,
} from "../../src/graph/orchestrator-workers.js";
import type { SynthesisInput } from "../../src/nodes/synthesize.js";
import { CodeChangeError, quoted } from "./errors.js";
import {
  folderRoot,
  listFiles,
  readTextFile,
  resolveFile,
  withScratchDirectory,
  writeCopy,
  type FileContent,
} from "./files.js";
import { checkPatch, diffCopies } from "./git.js";
import { EDITOR_SYSTEM_PROMPT, editorUserPrompt, plannerPrompt } from "./prompts.js";

/** One subtask of a code change: a file of the folder and what to change in it. */
export const FileChange = z.object({
  path: z
    .string()
    .describe("The file's path relative to the folder, exactly as listed (src/app.ts)."),
  change: z
    .string()
    .describe("What to change in this file, precisely enough for an editor who sees only it."),
});

/** A worker's result: the file's path in the patch and its unified diff (`a/<path>`, `b/<path>`). */
export interface FileDiff {
  path: string;
  diff: string;
}

/** The graph's `output`: one patch for the whole change, and what could not be changed. */
export interface CodeChangeOutput {
  /** The files' diffs concatenated in plan order; empty when no file was changed. */
  patch: string;
  /** The files the patch changes, in plan order. */
  files: string[];
  /** The subtasks that changed nothing, in plan order, with the reason. */
  failed: { id: string; path: string; error: string }[];
  /** Whether `git apply --check` accepted the patch on the folder when it was assembled. */
  applies: boolean;
  /** git's reason when it did not (or why there was nothing to check). */
  applyError?: string;
}

/** Options of `createCodeChangeGraph`. */
export interface CodeChangeGraphOptions {
  /** Plans the change: asked for `{ subtasks: [{ path, change, dependsOn }] }`. */
  planner: BaseChatModel;
  /** Writes each file's new content. */
  editor: BaseChatModel;
  /** The folder to change. It is read, never written. */
  root: string;
  /** Largest file an editor is given, in bytes; larger ones fail their subtask. Default 200 000. */
  maxFileBytes?: number;
  /** Most files listed to the planner. Default 200. */
  maxListedFiles?: number;
  /** Where the per-file scratch copies go; defaults to the system's temporary directory. */
  temporaryDirectory?: string;
  /** The graph's name in traces and streams; defaults to "code-change". */
  name?: string;
}

/**
 * Creates the uncompiled code-change graph on `createOrchestratorWorkers`. Compile it with your
 * checkpointer; invoke it with `{ request }`; its `output` is a `CodeChangeOutput`.
 * 1. The folder's files (paths only, bounded) are listed into the planner's prompt when it plans.
 * 2. The planner model plans one subtask per file.
 * 3. Each worker runs `editFile` (see there); a bad path or a failed edit fails only its file.
 * 4. The synthesizer runs `assemblePatch`.
 */
export function createCodeChangeGraph(options: CodeChangeGraphOptions) {
  const root = folderRoot(options.root);
  const maxFileBytes = options.maxFileBytes ?? 200_000;
  return createOrchestratorWorkers({
    name: options.name ?? "code-change",
    subtask: FileChange,
    planner: options.planner,
    // Listed at each planning call, so the planner sees the folder as it is when the run starts.
    plannerPrompt: () => plannerPrompt(listFiles(root, options.maxListedFiles ?? 200)),
    // Dependencies' results arrive typed `unknown`; here they are this graph's own FileDiffs.
    worker: (input, config) =>
      editFile(input as WorkerInput<typeof FileChange, FileDiff>, config, {
        root,
        editor: options.editor,
        maxFileBytes,
        temporaryDirectory: options.temporaryDirectory,
      }),
    synthesize: (input, config) => assemblePatch(input, config, root),
  });
}

/**
 * One worker: changes one file on a copy and returns its diff.
 * 1. checks the planned path (`resolveFile`) and reads the file, refusing one over `maxFileBytes`
 *    or not text (`readTextFile`), before anything reaches a prompt;
 * 2. in a fresh scratch directory, writes the content read to `a/<path>` and `b/<path>`;
 * 3. asks the editor for the file's whole new content, given the change and the diffs of the
 *    files it depends on, and writes the answer (`newContent`) to `b/<path>`;
 * 4. returns `git diff --no-index` of the two copies; the scratch directory is removed, also when
 *    a step fails.
 */
async function editFile(
  { request, subtask, dependencies }: WorkerInput<typeof FileChange, FileDiff>,
  config: LangGraphRunnableConfig,
  options: {
    root: string;
    editor: BaseChatModel;
    maxFileBytes: number;
    temporaryDirectory?: string;
  },
): Promise<FileDiff> {
  const file = await resolveFile(options.root, subtask.path);
  const original = await readTextFile(file, options.maxFileBytes);
  return withScratchDirectory(options.temporaryDirectory, async (directory) => {
    await writeCopy(join(directory, "a"), file.path, original.bytes, original.mode);
    await writeCopy(join(directory, "b"), file.path, original.bytes, original.mode);
    const answer = await options.editor.invoke(
      [
        new SystemMessage(EDITOR_SYSTEM_PROMPT),
        new HumanMessage(
          editorUserPrompt({
            request,
            path: file.path,
            change: subtask.change,
            content: original.text,
            dependencies: dependencies.map((dependency) => dependency.result),
          }),
        ),
      ],
      config,
    );
    const text = newContent(answer.text, original, options.maxFileBytes, file.path);
    await writeCopy(join(directory, "b"), file.path, text, original.mode);
    const diff = await diffCopies({ directory, path: file.path, signal: config.signal });
    if (!diff) {
      throw new CodeChangeError({
        path: subtask.path,
        message: `${quoted(file.path)} was returned unchanged by the editor: nothing to patch.`,
      });
    }
    return { path: file.path, diff };
  });
}

/**
 * The file's new content from the editor's answer: without a leading reasoning block or a fence
 * around the whole answer (unless the file itself starts with one), with the original's line
 * endings and final newline. Refuses an empty answer for a non-empty file and an answer over the
 * size bound.
 */
export function newContent(
  answer: string,
  original: Pick<FileContent, "text">,
  maxBytes: number,
  path: string,
): string {
  let text = answer.replace(/^\s*<(think|thinking|reasoning)>[\s\S]*?<\/\1>\s*/i, "");
  const fence = /^\s*(`{3,}|~{3,})[^\n]*\n([\s\S]*?)\n?\1\s*$/.exec(text);
  if (fence && !/^\s*(```|~~~)/.test(original.text)) text = fence[2]!;
  if (original.text.includes("\r\n") && !text.includes("\r\n")) text = text.replace(/\n/g, "\r\n");
  const newline = original.text.endsWith("\r\n") ? "\r\n" : "\n";
  if (original.text.endsWith("\n") && text !== "" && !text.endsWith("\n")) text += newline;
  if (text.trim() === "" && original.text.trim() !== "") {
    throw new CodeChangeError({
      path,
      message: `${quoted(path)}: the editor's answer is empty; deleting a file's content is not supported.`,
    });
  }
  if (Buffer.byteLength(text) > maxBytes) {
    throw new CodeChangeError({
      path,
      message: `${quoted(path)}: the editor's answer is over the ${maxBytes}-byte bound (maxFileBytes).`,
    });
  }
  return text;
}

/**
 * The synthesizer: one patch from the results, already in plan order.
 * 1. concatenates the diffs in plan order; a second diff of a path already in the patch is moved
 *    to `failed` (both were made against the original, so the patch would not apply);
 * 2. lists the failed subtasks in plan order with their path and reason;
 * 3. checks the patch with `git apply --check` on the folder (read-only).
 */
export async function assemblePatch(
  { plan, results, failed }: SynthesisInput<PlannedSubtask<typeof FileChange>, FileDiff>,
  config: LangGraphRunnableConfig,
  root: string,
): Promise<CodeChangeOutput> {
  const order = new Map(plan.subtasks.map((subtask, index) => [subtask.id, index]));
  const pathOf = new Map(plan.subtasks.map((subtask) => [subtask.id, subtask.path]));
  const owner = new Map<string, string>();
  const diffs: string[] = [];
  const refused: CodeChangeOutput["failed"] = failed.map((entry) => ({
    id: entry.id,
    path: pathOf.get(entry.id) ?? "",
    error: entry.error,
  }));
  for (const { id, result } of results) {
    const earlier = owner.get(result.path);
    if (earlier !== undefined) {
      refused.push({
        id,
        path: result.path,
        error: `${quoted(result.path)} is already changed by ${earlier}: plan one subtask per file.`,
      });
      continue;
    }
    owner.set(result.path, id);
    diffs.push(result.diff.endsWith("\n") ? result.diff : `${result.diff}\n`);
  }
  refused.sort((left, right) => (order.get(left.id) ?? 0) - (order.get(right.id) ?? 0));
  const patch = diffs.join("");
  const files = [...owner.keys()];
  if (files.length === 0) {
    return { patch, files, failed: refused, applies: false, applyError: "No file was changed." };
  }
  const check = await checkPatch({ root, patch, signal: config.signal });
  return {
    patch,
    files,
    failed: refused,
    applies: check.applies,
    ...(check.message ? { applyError: check.message } : {}),
  };
}
