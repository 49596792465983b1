/** The planner's instructions, before the folder's file list (see `plannerPrompt`). */
export const CODE_CHANGE_PLANNER_PROMPT = `You are the orchestrator of a code change. You get a request and the list of
the files in a folder. Choose the files the request needs changed and plan one subtask per file:
\`path\` is the file's path exactly as listed, \`change\` says precisely what to change in that file,
so that an editor who sees only that file can do it. Plan only files from the list, each at most
once; new files and deletions are not supported. When a file's change needs another's (an import
of a renamed function), plan the other first and name it in dependsOn.`;

/** The planner's system prompt: its instructions and the folder's files, paths only. */
export function plannerPrompt(listing: { files: string[]; complete: boolean }): string {
  const more = listing.complete
    ? ""
    : `\n(The list stops at ${listing.files.length} files; the folder has more.)`;
  return `${CODE_CHANGE_PLANNER_PROMPT}

<Files>
${listing.files.join("\n")}${more}
</Files>`;
}

/** The editor's instructions: the whole-file answer protocol. */
export const EDITOR_SYSTEM_PROMPT = `You edit one file of a code base. You get the overall request, the change to make
in this file, the changes already made to the files it depends on, and the file's current content.
Answer with the complete new content of the file and nothing else: no explanation, no Markdown
fence around it. Keep every line the change does not concern exactly as it is.`;

/** Longest part of a dependency's diff shown to an editor. */
const MAX_DEPENDENCY_DIFF = 20_000;

/** The editor's user message: request, path, change, what its dependencies changed, the file. */
export function editorUserPrompt(options: {
  request: string;
  path: string;
  change: string;
  content: string;
  dependencies: { path: string; diff: string }[];
}): string {
  const done = options.dependencies.length
    ? `

<Changes already made>
${options.dependencies
  .map(({ path, diff }) =>
    diff.length > MAX_DEPENDENCY_DIFF
      ? `${diff.slice(0, MAX_DEPENDENCY_DIFF)}\n(the diff of ${path} is cut here)`
      : diff.trimEnd(),
  )
  .join("\n")}
</Changes already made>`
    : "";
  return `<Request>
${options.request}
</Request>

<Path>
${options.path}
</Path>

<Change>
${options.change}
</Change>${done}

<File content>
${options.content}
</File content>`;
}
