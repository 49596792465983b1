/**
 * The package as users get it: packed into a tarball, installed into a fresh project in a temp
 * folder, the README's programmatic examples typechecked and run from there (extracted from the
 * README, so the README cannot drift from the package), the CLI run through its `bin`, and
 * `require()` failing with a message that says what to do.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { defaultPlan, startOpenAIServer, type OpenAIServer } from "../../src/testing/index.js";
import { cleanEnvironment } from "../helpers/process.js";

const run = promisify(execFile);
const ROOT = resolve(".");

/** The README's sections whose examples are compiled and run against the packed package. */
const EXAMPLE_SECTIONS = ["The building block: `createOrchestratorWorkers`", "Programmatic use"];

/** The README's programmatic examples: a block that imports starts a file, others continue it. */
export function readmeExamples(readme: string): string[] {
  const sections = EXAMPLE_SECTIONS.map(
    (heading) => readme.split(`\n## ${heading}\n`)[1]?.split(/^## /m)[0] ?? "",
  );
  const files: string[] = [];
  for (const match of sections.join("\n").matchAll(/```ts\n([\s\S]*?)```/g)) {
    const code = match[1]!.replace(/\/\/ or "\.\/src\/index\.js" in this repo/g, "");
    if (/^import /m.test(code) || files.length === 0) files.push(code);
    else files[files.length - 1] += `\n${code}`;
  }
  return files;
}

describe("the packed package in a fresh project", () => {
  let project: string;
  let server: OpenAIServer;
  let environment: Record<string, string>;

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
    const packed = await mkdtemp(join(tmpdir(), "packed-"));
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
  });

  test("installing it builds nothing native", async () => {
    const installed = await readdir(join(project, "node_modules"));
    expect(installed).not.toContain("better-sqlite3");
  });

  test("the README's examples typecheck and run against the package", async () => {
    const examples = readmeExamples(await readFile(join(ROOT, "README.md"), "utf8"));
    expect(examples.length).toBeGreaterThanOrEqual(2);
    const names = examples.map((_, index) => `example-${index + 1}.ts`);
    for (const [index, code] of examples.entries()) {
      await writeFile(join(project, names[index]!), `${code}\nexport {};\n`);
    }
    await run("npx", ["tsc", "-p", "."], { cwd: project, env: environment });
    const before = server.requests.length;
    for (const name of names) {
      await run("node", [join("out", name.replace(/\.ts$/, ".js"))], {
        cwd: project,
        env: environment,
      });
    }
    expect(server.requests.length).toBeGreaterThan(before);
  }, 240_000);

  test("the CLI runs through its bin: npx orchestrator-workers --help", async () => {
    const { stdout } = await run("npx", ["orchestrator-workers", "--help"], {
      cwd: project,
      env: environment,
    });
    expect(stdout).toMatch(/Usage: orchestrator-workers/);
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
