/**
 * A run store that fills up mid-run (issue 12, item 7): the first write that fails stops the run
 * at once, so no section is requested that could not be saved, and the run says so in one line.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { defaultPlan, startOpenAIServer, type OpenAIServer } from "../../src/testing/index.js";
import { runCli } from "../helpers/run-cli.js";

const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;

describe("a run store that fills up", () => {
  let server: OpenAIServer | undefined;
  let mounted: string | undefined;

  afterEach(async () => {
    await server?.close();
    if (mounted) await run("umount", ["-l", mounted]).catch(() => undefined);
    server = undefined;
    mounted = undefined;
  });

  test("stops sending sections at the first write the store cannot make", async () => {
    const directory = await mkdtemp(join(tmpdir(), "store-full-"));
    const disk = join(directory, "disk");
    await mkdir(disk);
    // A real small disk for the SQLite file: a tmpfs (needs root; skipped otherwise).
    const canMount =
      isRoot &&
      (await run("mount", ["-t", "tmpfs", "-o", "size=640k", "tmpfs", disk]).then(
        () => true,
        () => false,
      ));
    if (!canMount) {
      console.warn("skipped: cannot mount a tmpfs here (needs root)");
      return;
    }
    mounted = disk;
    const sections = 60;
    server = await startOpenAIServer({
      plan: defaultPlan(sections),
      latencyMs: (request) => (request.kind === "plan" ? 0 : 40),
      respond: (request) =>
        request.kind === "section"
          ? { content: `${request.sectionName ?? ""}: ${"tide ".repeat(4_000)}` }
          : undefined,
    });
    const result = await runCli(
      [
        "Tides",
        "--out",
        "r.md",
        "--db",
        "disk/runs.sqlite",
        "--max-sections",
        String(sections),
        "--max-concurrency",
        "2",
      ],
      { env: { OPENAI_BASE_URL: server.baseURL }, directory },
    );
    expect(result.code).toBe(1);
    const errors = result.stderr.split("\n").filter((line) => line.startsWith("error"));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^error: Could not write to the run store .*runs\.sqlite/);
    expect(errors[0]).toMatch(/run again with --thread/);
    // Sections stop at the failure: at most the two in flight beyond those that were saved.
    const saved = (result.stderr.match(/ done: /g) ?? []).length;
    expect(server.sectionRequests().length).toBeLessThan(sections);
    expect(server.sectionRequests().length).toBeLessThanOrEqual(saved + 3);
  }, 120_000);
});
