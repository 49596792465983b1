/**
 * Deploying to the LangGraph Agent Server: the Dockerfile the LangGraph CLI generates from
 * langgraph.json (Docker itself is not available here, so the test reads what it would build).
 */
import { execFile } from "node:child_process";
import { access, mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

describe("langgraphjs dockerfile", () => {
  test("builds an image of this graph from the repository, without local files or the build-from-source switch", async () => {
    const target = join(await mkdtemp(join(tmpdir(), "dockerfile-")), "Dockerfile");
    await run("npx", ["langgraphjs", "dockerfile", target], {
      env: { ...process.env, LANGGRAPH_CLI_NO_ANALYTICS: "1" },
    });
    const dockerfile = await readFile(target, "utf8");
    const config = JSON.parse(await readFile("langgraph.json", "utf8")) as {
      node_version: string;
      graphs: Record<string, string>;
    };
    expect(dockerfile).toMatch(
      new RegExp(`^FROM langchain/langgraphjs-api:${config.node_version}$`, "m"),
    );
    // The whole repository is copied (into /deps/<folder name>) and installed there.
    const folder = /^ADD \. (\/deps\/\S+)$/m.exec(dockerfile)?.[1];
    expect(folder).toBeDefined();
    expect(dockerfile).toMatch(new RegExp(`^WORKDIR ${folder}$`, "m"));
    expect(dockerfile).toMatch(/^RUN npm ci$/m);
    // The graph it serves is the one langgraph.json names, and that file is in the repository.
    const graphs = JSON.parse(/LANGSERVE_GRAPHS='(.*)'/.exec(dockerfile)![1]!) as Record<
      string,
      string
    >;
    expect(graphs).toEqual(config.graphs);
    for (const path of Object.values(graphs)) await access(path.split(":")[0]!);
    // `npm ci` in the image needs the lockfile, and must not find local installs or runs.
    await access("package-lock.json");
    const ignored = (await readFile(".dockerignore", "utf8"))
      .split("\n")
      .map((line) => line.trim());
    for (const entry of [
      "node_modules",
      ".orchestrator-workers",
      ".env",
      ".prebuild-installrc",
      "dist",
    ]) {
      expect(ignored).toContain(entry);
    }
    expect(ignored).not.toContain("package-lock.json");
    expect(ignored).not.toContain("src");
  }, 60_000);
});
