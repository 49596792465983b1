/**
 * The code-change example end to end (examples/code-change): scripted planner and editor models,
 * a real folder under real git, real `git diff --no-index` and `git apply`.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import {
  cp,
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  readlink,
  rm,
  symlink,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createCodeChangeGraph } from "../../examples/code-change/graph.js";
import { listFiles } from "../../examples/code-change/files.js";
import { plannerPrompt } from "../../examples/code-change/prompts.js";
import { InvalidInputError } from "../../src/errors.js";
import type { LocalChatReply, LocalChatRequest } from "../../src/models/local-chat-model.js";
import { promptBlocks } from "../../src/schemas/prompts.js";
import { ScriptedChatModel, type ScriptedChatModelOptions } from "../../src/testing/index.js";

const MATH = "export function add(a: number, b: number): number {\n  return a + b;\n}\n";
const MAIN = 'import { add } from "./math.js";\n\nconsole.log(add(1, 2));\n';
const NEW_MATH = "export function sum(a: number, b: number): number {\n  return a + b;\n}\n";
const NEW_MAIN = 'import { sum } from "./math.js";\n\nconsole.log(sum(1, 2));\n';
const NOTES = "Nothing to see here.\n";
const SECRET = "outside the folder\n";

/** Runs git in `cwd` with a fixed identity and branch, failing the test on a non-zero exit. */
function git(cwd: string, args: string[], input?: string): string {
  return execFileSync(
    "git",
    ["-c", "user.name=Test", "-c", "user.email=test@example.com", ...args],
    { cwd, input, encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] },
  );
}

/** Every entry under `directory` (.git included): file bytes and mtimes, link targets, folders. */
async function snapshot(directory: string, prefix = ""): Promise<Record<string, string>> {
  const entries: Record<string, string> = {};
  for (const entry of await readdir(join(directory, prefix), { withFileTypes: true })) {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    const absolute = join(directory, path);
    if (entry.isSymbolicLink()) entries[path] = `link -> ${await readlink(absolute)}`;
    else if (entry.isDirectory()) Object.assign(entries, await snapshot(directory, path));
    else {
      const stats = await lstat(absolute);
      entries[path] =
        `${stats.mtimeMs} ${stats.mode} ${(await readFile(absolute)).toString("base64")}`;
    }
  }
  return entries;
}

/** The file a scripted editor call is about: the `<Path>` block of its prompt. */
function pathOf(prompt: string): string {
  return promptBlocks(prompt).get("Path") ?? "(no path)";
}

/** A promise that `open` resolves, to make one worker wait for another's event. */
function gate(): { open: () => void; opened: Promise<void> } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

/** `promise`, or a rejection with `message` after `ms` (only ever fires when the test fails). */
async function within<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(message)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** A scripted editor whose calls can wait for an event before they answer. */
class GatedEditor extends ScriptedChatModel {
  constructor(
    options: ScriptedChatModelOptions,
    private readonly before: (path: string) => Promise<void>,
  ) {
    super(options);
  }

  protected override async reply(request: LocalChatRequest): Promise<LocalChatReply> {
    const prompt = request.messages.find((message) => message.getType() === "human")?.text ?? "";
    await this.before(pathOf(prompt));
    return super.reply(request);
  }
}

/** A scripted planner that plans the given files. */
function plannerFor(subtasks: { path: string; change: string; dependsOn?: string[] }[]) {
  return new ScriptedChatModel({
    planAnswer: {
      subtasks: subtasks.map((subtask) => ({ dependsOn: [], ...subtask })),
    },
  });
}

/** A scripted editor answering from a map of path → new content; other paths fail loudly. */
function editorFor(contents: Record<string, string>, extra: ScriptedChatModelOptions = {}) {
  return new ScriptedChatModel({
    write: (_name, prompt) => {
      const path = pathOf(prompt);
      const content = contents[path];
      if (content === undefined) throw new Error(`the editor was asked about ${path}`);
      return content;
    },
    ...extra,
  });
}

describe("the code-change example: one patch from parallel file edits", () => {
  let scratch: string;
  let root: string;
  let outside: string;
  let temporary: string;

  beforeEach(async () => {
    scratch = await mkdtemp(join(tmpdir(), "code-change-test-"));
    root = join(scratch, "repo");
    outside = join(scratch, "outside");
    temporary = join(scratch, "tmp");
    await mkdir(join(root, "src"), { recursive: true });
    await mkdir(join(root, "node_modules", "pkg"), { recursive: true });
    await mkdir(outside);
    await mkdir(temporary);
    await writeFile(join(root, "src", "math.ts"), MATH);
    await writeFile(join(root, "src", "main.ts"), MAIN);
    await writeFile(join(root, "README.md"), "# Demo\n");
    await writeFile(join(root, "notes.txt"), NOTES);
    await writeFile(join(root, "big.txt"), "x".repeat(200_001));
    await writeFile(join(root, "node_modules", "pkg", "index.js"), "module.exports = 1;\n");
    await writeFile(join(outside, "secret.txt"), SECRET);
    await symlink("../outside/secret.txt", join(root, "escape.txt"));
    await symlink("../outside", join(root, "linked"));
    git(root, ["init", "-q", "-b", "main"]);
    git(root, ["add", "-A"]);
    git(root, ["commit", "-q", "-m", "initial"]);
  });

  afterEach(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  test("two files edited in parallel give one patch in plan order; git apply accepts it; the folder is unchanged", async () => {
    const before = await snapshot(root);
    const planner = plannerFor([
      { path: "src/math.ts", change: "Rename add to sum." },
      { path: "src/main.ts", change: "Call sum instead of add." },
    ]);
    // The first planned file answers only once the second's edit has started: the two run at once,
    // and the second finishes first, so arrival order cannot be what orders the patch.
    const secondStarted = gate();
    const editor = new GatedEditor(
      {
        write: (_name, prompt) =>
          // A fenced answer without its final newline, as models often give it.
          pathOf(prompt) === "src/math.ts" ? NEW_MATH : "```ts\n" + NEW_MAIN.trimEnd() + "\n```",
      },
      async (path) => {
        if (path === "src/main.ts") secondStarted.open();
        else await within(secondStarted.opened, 5000, "src/main.ts was not edited in parallel");
      },
    );
    const graph = createCodeChangeGraph({ planner, editor, root, temporaryDirectory: temporary });

    const out = await graph.compile().invoke({ request: "Rename add to sum" });
    const output = out.output;

    expect(output.failed).toEqual([]);
    expect(output.files).toEqual(["src/math.ts", "src/main.ts"]);
    expect(output.applies).toBe(true);
    expect(output.patch.indexOf("diff --git a/src/math.ts b/src/math.ts\n")).toBe(0);
    expect(output.patch.indexOf("diff --git a/src/main.ts b/src/main.ts\n")).toBeGreaterThan(0);
    expect(output.patch).toContain("--- a/src/main.ts\n+++ b/src/main.ts\n");
    expect(output.patch).not.toContain("```");
    expect(output.patch).not.toContain("No newline at end of file");

    // The planner chose from the folder's files: no .git, node_modules or symbolic links.
    const listed = promptBlocks(planner.planCalls[0]!.messages[0]!).get("Files")!.split("\n");
    expect(listed).toEqual(["README.md", "big.txt", "notes.txt", "src/main.ts", "src/math.ts"]);
    // Each editor saw its own file, its change and the request.
    const mathPrompt = editor.writeCalls.find((call) => pathOf(call.prompt) === "src/math.ts")!;
    expect(promptBlocks(mathPrompt.prompt).get("File content")).toBe(MATH.trimEnd());
    expect(promptBlocks(mathPrompt.prompt).get("Change")).toBe("Rename add to sum.");
    expect(editor.writeCalls).toHaveLength(2);

    git(root, ["apply", "--check", "-"], output.patch);
    expect(await snapshot(root)).toEqual(before);
    expect(await readdir(temporary)).toEqual([]);

    const copy = join(scratch, "copy");
    await cp(root, copy, { recursive: true, verbatimSymlinks: true });
    git(copy, ["apply", "-"], output.patch);
    expect(await readFile(join(copy, "src", "math.ts"), "utf8")).toBe(NEW_MATH);
    expect(await readFile(join(copy, "src", "main.ts"), "utf8")).toBe(NEW_MAIN);
    expect(git(copy, ["status", "--porcelain"]).split("\n").filter(Boolean).sort()).toEqual([
      " M src/main.ts",
      " M src/math.ts",
    ]);
  });

  test("a planned path outside the folder, absolute, missing, through a link, too big or not a file fails only its subtask, saying why", async () => {
    const before = await snapshot(root);
    const bad: [string, RegExp][] = [
      ["../etc/passwd", /"\.\.\/etc\/passwd" leaves the folder/],
      ["/etc/passwd", /"\/etc\/passwd" is absolute/],
      ["missing.ts", /"missing\.ts" does not exist in the folder/],
      ["escape.txt", /"escape\.txt" is a symbolic link .*leads outside the folder/],
      ["linked/secret.txt", /"linked\/secret\.txt" is a symbolic link .*leads outside the folder/],
      ["big.txt", /"big\.txt" is 200001 bytes, over the 200000-byte bound/],
      ["src", /"src" is not a regular file \(a directory\)/],
      [".git/config", /"\.git\/config" is inside \.git/],
    ];
    const planner = plannerFor([
      ...bad.slice(0, 4).map(([path]) => ({ path, change: "Print the secret." })),
      { path: "./src/math.ts", change: "Rename add to sum." },
      ...bad.slice(4).map(([path]) => ({ path, change: "Print the secret." })),
      { path: "src/main.ts", change: "Call sum instead of add." },
    ]);
    const editor = editorFor({ "src/math.ts": NEW_MATH, "src/main.ts": NEW_MAIN });
    const graph = createCodeChangeGraph({ planner, editor, root, temporaryDirectory: temporary });

    const out = await graph
      .compile()
      .invoke({ request: "Rename add to sum" }, { configurable: { maxSections: 20 } });
    const output = out.output;

    expect(output.files).toEqual(["src/math.ts", "src/main.ts"]);
    expect(output.patch).toMatch(/^diff --git a\/src\/math\.ts b\/src\/math\.ts\n/);
    expect(output.applies).toBe(true);
    expect(output.failed.map((entry) => entry.path)).toEqual(bad.map(([path]) => path));
    expect(output.failed.map((entry) => entry.id)).toEqual([
      "s1",
      "s2",
      "s3",
      "s4",
      "s6",
      "s7",
      "s8",
      "s9",
    ]);
    output.failed.forEach((entry, index) => {
      expect(entry.error).toMatch(bad[index]![1]);
      expect(entry.error).toMatch(/^CodeChangeError: /);
    });
    // Nothing but the good files reached the editor; nothing outside the folder was touched.
    expect(editor.writeCalls.map((call) => pathOf(call.prompt)).sort()).toEqual([
      "src/main.ts",
      "src/math.ts",
    ]);
    expect(await readFile(join(outside, "secret.txt"), "utf8")).toBe(SECRET);
    git(root, ["apply", "--check", "-"], output.patch);
    expect(await snapshot(root)).toEqual(before);
    expect(await readdir(temporary)).toEqual([]);
  });

  test("a file planned after another sees its diff; an editor that fails or changes nothing fails only its file and leaves no scratch copy", async () => {
    const planner = plannerFor([
      { path: "src/math.ts", change: "Rename add to sum." },
      { path: "src/main.ts", change: "Follow the rename.", dependsOn: ["s1"] },
      { path: "README.md", change: "Mention sum." },
      { path: "notes.txt", change: "Nothing, really." },
      { path: "src/math.ts", change: "Rename it again." },
    ]);
    const editor = editorFor(
      { "src/math.ts": NEW_MATH, "src/main.ts": NEW_MAIN, "notes.txt": NOTES },
      {
        act: (call) => {
          if (pathOf(call.prompt) === "README.md") throw new Error("the model is overloaded");
          return undefined;
        },
      },
    );
    const graph = createCodeChangeGraph({ planner, editor, root, temporaryDirectory: temporary });

    const out = await graph.compile().invoke({ request: "Rename add to sum" });
    const output = out.output;

    const mainPrompt = editor.writeCalls.find((call) => pathOf(call.prompt) === "src/main.ts")!;
    const done = promptBlocks(mainPrompt.prompt).get("Changes already made") ?? "";
    expect(done).toContain("--- a/src/math.ts");
    expect(done).toContain("+export function sum(a: number, b: number): number {");
    expect(output.files).toEqual(["src/math.ts", "src/main.ts"]);
    expect(output.failed).toEqual([
      { id: "s3", path: "README.md", error: expect.stringMatching(/the model is overloaded/) },
      { id: "s4", path: "notes.txt", error: expect.stringMatching(/returned unchanged/) },
      {
        id: "s5",
        path: "src/math.ts",
        error: expect.stringMatching(/already changed by s1: plan one subtask per file/),
      },
    ]);
    expect(output.applies).toBe(true);
    git(root, ["apply", "--check", "-"], output.patch);
    expect(await readdir(temporary)).toEqual([]);
  });

  test("in a subfolder of a repository the check reads the folder's paths; a file changed under the run makes `applies` false", async () => {
    // The repository's top is `scratch`'s "repo"; the folder changed is its subfolder "src".
    const folder = join(root, "src");
    const graph = (editor: ScriptedChatModel) =>
      createCodeChangeGraph({
        planner: plannerFor([{ path: "math.ts", change: "Rename add to sum." }]),
        editor,
        root: folder,
        temporaryDirectory: temporary,
      }).compile();

    const clean = (await graph(editorFor({ "math.ts": NEW_MATH })).invoke({ request: "Rename" }))
      .output;
    expect(clean.files).toEqual(["math.ts"]);
    expect(clean.applies).toBe(true);
    git(root, ["apply", "--check", "--directory=src/", "-"], clean.patch);

    // Someone edits the file while the editor works on its copy: the patch no longer applies.
    const raced = editorFor(
      {},
      {
        act: () => {
          writeFileSync(join(folder, "math.ts"), "export const add = 1;\n");
          return { content: NEW_MATH };
        },
      },
    );
    const stale = (await graph(raced).invoke({ request: "Rename" })).output;
    expect(stale.files).toEqual(["math.ts"]);
    expect(stale.applies).toBe(false);
    expect(stale.applyError).toMatch(/patch does not apply/);
  });

  test("the planner's list is bounded and the folder is checked when the graph is built", () => {
    const listing = listFiles(root, 2);
    expect(listing).toEqual({ files: ["README.md", "big.txt"], complete: false });
    expect(plannerPrompt(listing)).toContain("The list stops at 2 files");
    expect(listFiles(root, 100).complete).toBe(true);

    const models = { planner: plannerFor([]), editor: editorFor({}) };
    expect(() => createCodeChangeGraph({ ...models, root: join(scratch, "nowhere") })).toThrow(
      InvalidInputError,
    );
    expect(() => createCodeChangeGraph({ ...models, root: join(root, "notes.txt") })).toThrow(
      /is not a folder/,
    );
  });
});
