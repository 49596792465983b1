/**
 * The package as users get it: packed into a tarball, installed into a fresh project in a temp
 * folder, every runnable block of README.md and docs/*.md typechecked and run from there (extracted
 * from the pages, so the documentation cannot drift from the package), the CLI run through its `bin` with
 * nothing else installed (no run store package, no model), and `require()` failing with a
 * message that says what to do.
 */
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { access, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { IN_MEMORY_NOTICE } from "../../src/cli/run-store.js";
import { defaultPlan, startOpenAIServer, type OpenAIServer } from "../../src/testing/index.js";
import { codeBlocks } from "../helpers/markdown.js";
import { cleanEnvironment } from "../helpers/process.js";

const run = promisify(execFile);
const ROOT = resolve(".");

/** How a command ended: its exit code (0 when it succeeded) and what it printed. */
interface Ended {
  code: number | undefined;
  stdout: string;
  stderr: string;
}

/** Runs `file` like `run`, resolving with the exit code instead of rejecting on a non-zero one. */
function ended(file: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }) {
  return run(file, args, options).then(
    ({ stdout, stderr }): Ended => ({ code: 0, stdout, stderr }),
    (error: { code?: number; stdout?: string; stderr?: string }): Ended => ({
      code: error.code,
      stdout: error.stdout ?? "",
      stderr: error.stderr ?? "",
    }),
  );
}

/** The pages whose runnable blocks are compiled and run: README.md and every docs page. */
export function documentationPages(root: string): string[] {
  const docs = readdirSync(join(root, "docs"))
    .filter((name) => name.endsWith(".md"))
    .sort()
    .map((name) => `docs/${name}`);
  return ["README.md", ...docs];
}

/** A runnable example: the file it becomes and where its first block is (`page:line`). */
export interface RunnableExample {
  name: string;
  from: string;
  code: string;
}

/**
 * The runnable examples of `pages` (see docs/development.md): every TypeScript block after a
 * `<!-- runnable -->` line; a block with an import line starts a file, one without continues the
 * page's previous runnable block.
 */
export function runnableExamples(root: string, pages: string[]): RunnableExample[] {
  const examples: RunnableExample[] = [];
  for (const page of pages) {
    let previous: RunnableExample | undefined;
    for (const block of codeBlocks(readFileSync(join(root, page), "utf8"))) {
      if (!block.runnable) continue;
      if (!/^(ts|typescript)\b/.test(block.info)) {
        throw new Error(`${page}:${block.line}: a runnable block must be TypeScript (\`\`\`ts)`);
      }
      if (previous && !/^import /m.test(block.code)) {
        previous.code += `\n${block.code}`;
        continue;
      }
      const base = page
        .replace(/\.md$/, "")
        .replace(/[^A-Za-z0-9]+/g, "-")
        .toLowerCase();
      previous = {
        name: `${base}-${block.line}.ts`,
        from: `${page}:${block.line}`,
        code: `// ${page}:${block.line}\n${block.code}`,
      };
      examples.push(previous);
    }
  }
  return examples;
}

describe("the packed package in a fresh project", () => {
  let packed: string;
  let project: string;
  let server: OpenAIServer;
  let environment: Record<string, string>;
  /** The same, with no model configured: the CLI falls back to its offline model. */
  let noModel: Record<string, string>;

  beforeAll(async () => {
    server = await startOpenAIServer({ plan: defaultPlan(2) });
    environment = {
      ...cleanEnvironment(),
      OPENAI_BASE_URL: server.baseURL,
      OPENAI_API_KEY: "sk-package-test",
      npm_config_audit: "false",
      npm_config_fund: "false",
      npm_config_update_notifier: "false",
    };
    noModel = Object.fromEntries(
      Object.entries(environment).filter(([name]) => !name.startsWith("OPENAI_")),
    );
    packed = await mkdtemp(join(tmpdir(), "packed-"));
    await run("npm", ["pack", "--pack-destination", packed], { cwd: ROOT, env: environment });
    const [tarball] = (await readdir(packed)).filter((name) => name.endsWith(".tgz"));
    project = await mkdtemp(join(tmpdir(), "fresh-project-"));
    await writeFile(
      join(project, "package.json"),
      JSON.stringify({ name: "fresh-project", private: true, type: "module" }),
    );
    await writeFile(
      join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          skipLibCheck: true,
          outDir: "out",
        },
        include: ["*.ts"],
      }),
    );
    const own = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    await run(
      "npm",
      [
        "install",
        "--prefer-offline",
        join(packed, tarball!),
        `typescript@${own.devDependencies.typescript}`,
        `@types/node@${own.devDependencies["@types/node"]}`,
        `@langchain/openai@${own.dependencies["@langchain/openai"]}`,
      ],
      { cwd: project, env: environment },
    );
  }, 600_000);

  afterAll(async () => {
    await server?.close();
    for (const directory of [packed, project]) {
      if (directory) await rm(directory, { recursive: true, force: true });
    }
  });

  test("installing it builds nothing native", async () => {
    const installed = await readdir(join(project, "node_modules"));
    expect(installed).not.toContain("better-sqlite3");
  });

  test("the docs pages ship with it: --help's pointer to docs/configuration.md resolves in the installed package", async () => {
    const installed = join(project, "node_modules", "orchestrator-workers");
    const page = await readFile(join(installed, "docs", "configuration.md"), "utf8");
    expect(page).toContain("maxConcurrency");
    const help = await run("npx", ["orchestrator-workers", "--help"], {
      cwd: project,
      env: environment,
    });
    expect(help.stdout).toContain("docs/configuration.md");
  });

  test("every runnable block of README.md and docs/ typechecks and runs against the package", async () => {
    const pages = documentationPages(ROOT);
    const examples = runnableExamples(ROOT, pages);
    // README: one of each graph; the docs pages add their own.
    expect(examples.filter(({ from }) => from.startsWith("README.md:")).length).toBe(2);
    expect(examples.length).toBeGreaterThan(2);
    // A folder of notes for the examples that search one (createSourcesTool({ directory: "./docs" })).
    await mkdir(join(project, "docs"), { recursive: true });
    await writeFile(
      join(project, "docs", "deploy.md"),
      "# Deploys\n\nA deploy builds the image, runs the tests and rolls out one zone at a time.\n",
    );
    for (const { name, code } of examples) {
      await writeFile(join(project, name), `${code}\nexport {};\n`);
    }
    const compiled = await ended("npx", ["tsc", "-p", "."], { cwd: project, env: environment });
    expect([compiled.code, compiled.stdout]).toEqual([0, ""]);
    const before = server.requests.length;
    for (const { name, from } of examples) {
      const result = await ended("node", [join("out", name.replace(/\.ts$/, ".js"))], {
        cwd: project,
        env: environment,
      });
      expect([from, result.code, result.code === 0 ? "" : result.stderr]).toEqual([from, 0, ""]);
    }
    expect(server.requests.length).toBeGreaterThan(before);
  }, 480_000);

  test("the CLI runs through its bin: npx orchestrator-workers --help", async () => {
    const { stdout } = await run("npx", ["orchestrator-workers", "--help"], {
      cwd: project,
      env: environment,
    });
    expect(stdout).toMatch(/Usage: orchestrator-workers/);
  }, 60_000);

  test('npx orchestrator-workers "How tides work" --out -, nothing else installed: the report on stdout, one line on durable runs', async () => {
    const result = await ended("npx", ["orchestrator-workers", "How tides work", "--out", "-"], {
      cwd: project,
      env: noModel,
    });
    expect(result.stderr).not.toMatch(/^error/m);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^# How tides work\n/);
    expect(result.stdout).toMatch(/offline placeholder model/);
    // Said once, in one line: the run works but is kept in memory, and how to get durable runs.
    const notices = result.stderr.split("\n").filter((line) => line.includes("npm install"));
    expect(notices).toEqual([IN_MEMORY_NOTICE]);
    expect(await readdir(join(project, "node_modules", "@langchain"))).not.toContain(
      "langgraph-checkpoint-sqlite",
    );
    await expect(access(join(project, ".orchestrator-workers"))).rejects.toThrow();
  }, 60_000);

  test("sh -c 'npx orchestrator-workers --help | head -1': exit 0, nothing on stderr", async () => {
    const result = await ended("sh", ["-c", "npx orchestrator-workers --help | head -1"], {
      cwd: project,
      env: noModel,
    });
    expect(result).toEqual({
      code: 0,
      stdout: "Usage: orchestrator-workers [options] [topic...]\n",
      stderr: "",
    });
  }, 60_000);

  test("npx orchestrator-workers --version prints the package's version", async () => {
    const { version } = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as {
      version: string;
    };
    const result = await ended("npx", ["orchestrator-workers", "--version"], {
      cwd: project,
      env: noModel,
    });
    expect(result).toEqual({ code: 0, stdout: `${version}\n`, stderr: "" });
  }, 60_000);

  test("what needs stored runs is refused in one line saying what to install", async () => {
    const result = await ended("npx", ["orchestrator-workers", "runs"], {
      cwd: project,
      env: noModel,
    });
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split("\n")).toEqual([
      expect.stringMatching(
        /^error: Listing stored runs .* needs the package @langchain\/langgraph-checkpoint-sqlite, which is not installed: npm install @langchain\/langgraph-checkpoint-sqlite/,
      ),
    ]);
  }, 60_000);

  test("the test doubles are importable: orchestrator-workers/testing", async () => {
    const { stdout } = await run(
      "node",
      [
        "--input-type=module",
        "-e",
        'import("orchestrator-workers/testing").then((m) => console.log(typeof m.ScriptedChatModel))',
      ],
      { cwd: project, env: environment },
    );
    expect(stdout.trim()).toBe("function");
  });

  test("require() fails with a message that says what to do", async () => {
    const failure = await run("node", ["-e", 'require("orchestrator-workers")'], {
      cwd: project,
      env: environment,
    }).catch((error: { stderr: string }) => error);
    expect(failure.stderr).toMatch(/ES module package: use `import/);
  });
});
