/**
 * What README.md promises a newcomer: at most 250 lines; the quick start's two commands (a report,
 * the tests) in its first 60 lines, and true (the npm scripts exist, CI runs the same test
 * command); the install line for package users; the generated diagram; one example of each graph
 * marked runnable; a table of contents that links every docs page; nothing only maintainers need.
 */
import { readdirSync, readFileSync } from "node:fs";
import { readmeDiagram } from "../../scripts/diagram.js";
import { codeBlocks, linksOf } from "../helpers/markdown.js";

const readme = readFileSync("README.md", "utf8");
const lines = readme.split("\n");
const scripts = (
  JSON.parse(readFileSync("package.json", "utf8")) as { scripts: Record<string, string> }
).scripts;

/** The 1-based line of the first shell block line that is exactly `command`, if any. */
function lineOfCommand(command: string): number | undefined {
  for (const block of codeBlocks(readme)) {
    if (block.info !== "sh" && block.info !== "bash") continue;
    const index = block.code.split("\n").findIndex((line) => line.trim() === command);
    if (index >= 0) return block.line + 1 + index;
  }
  return undefined;
}

describe("README", () => {
  test("is at most 250 lines", () => {
    expect(lines.length - (readme.endsWith("\n") ? 1 : 0)).toBeLessThanOrEqual(250);
  });

  test("the quick start is in the first 60 lines: a report, then the tests", () => {
    const report = lineOfCommand('npm ci && npm run report -- "How tides work"');
    const tests = lineOfCommand("npm ci && npm test");
    expect({ report, tests }).toEqual({ report: expect.any(Number), tests: expect.any(Number) });
    expect(report).toBeLessThanOrEqual(60);
    expect(tests).toBeLessThanOrEqual(60);
    expect(readme.indexOf("## Quick start")).toBeLessThan(readme.indexOf(lines[report! - 1]!));
  });

  test("the quick start's commands are the project's: npm scripts that exist, the test CI runs", () => {
    expect(scripts.report).toMatch(/src\/cli\/main\.ts/);
    expect(scripts.test).toMatch(/jest/);
    const ci = readFileSync(".ci/run", "utf8");
    expect(ci.split("\n")).toContain("npm test");
    expect(ci.split("\n")).toContain("npm ci");
  });

  test("package users get the one-line run and the packages a program installs", () => {
    expect(lineOfCommand('npx orchestrator-workers "How tides work" --out tides.md')).toBeDefined();
    expect(readme).toMatch(/^npm install orchestrator-workers .*@langchain\/openai/m);
  });

  test("keeps the generated diagram between its markers", () => {
    expect(readmeDiagram(readme)).toMatch(/```mermaid\n[\s\S]*orchestrator[\s\S]*```/);
  });

  test("has one runnable example of the report graph and one of the generic builder", () => {
    const runnable = codeBlocks(readme).filter((block) => block.runnable);
    expect(runnable.map((block) => block.info)).toEqual(["ts", "ts"]);
    expect(runnable.some((block) => /\bbuildGraph\(/.test(block.code))).toBe(true);
    expect(runnable.some((block) => /\bcreateOrchestratorWorkers\(/.test(block.code))).toBe(true);
  });

  test("its table of contents links every docs page", () => {
    const linked = new Set(linksOf(readme).map(({ target }) => target.split("#")[0]));
    const pages = readdirSync("docs")
      .filter((name) => name.endsWith(".md"))
      .map((name) => `docs/${name}`);
    expect(pages.filter((page) => !linked.has(page))).toEqual([]);
  });

  test("holds nothing only maintainers need: no test files, no benchmark tables, no --help dump", () => {
    expect(readme).not.toMatch(/\.test\.ts|tests\/(unit|integration)/);
    expect(readme).not.toMatch(/bench\/(NOTES|RESULTS)\.md/);
    expect(readme).not.toMatch(/^Usage: orchestrator-workers/m);
  });
});
