/**
 * The test run's temporary folder (tests/helpers/global-setup.js): everything the tests make
 * through `os.tmpdir()` goes under one folder that the run removes when it ends, passed or failed.
 */
import { spawnSync } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { tmpdir } from "node:os";

describe("the test run's temporary folder", () => {
  test("os.tmpdir() is the run's own folder, in tests and in the child processes they start", async () => {
    const folder = process.env.ORCHESTRATOR_WORKERS_TEST_TMPDIR;
    expect(folder).toBeDefined();
    expect(tmpdir()).toBe(folder);
    expect(basename(folder!)).toMatch(/^orchestrator-workers-tests-/);
    const made = await mkdtemp(join(tmpdir(), "made-"));
    expect(dirname(made)).toBe(folder);
    const child = spawnSync(
      process.execPath,
      ["-e", "process.stdout.write(require('os').tmpdir())"],
      {
        encoding: "utf8",
      },
    );
    expect(child.stdout).toBe(folder);
  });
});
