/**
 * Before the tests: builds the package once, so the CLI tests run the CLI as users of the package
 * do (`node dist/cli/main.js`, what the `bin` points at) instead of compiling it in every child;
 * and gives the run a temporary folder of its own. Every temporary file and folder a test, a
 * server or a child process makes (through `os.tmpdir()`, which reads TMPDIR) goes under it, and
 * `global-teardown.js` removes it when the run ends, whether its tests passed or failed. A folder
 * left by a run that was killed is removed by the next run.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const RUN_FOLDER_PREFIX = "orchestrator-workers-tests-";

export default function globalSetup() {
  removeFoldersOfEndedRuns(tmpdir());
  const folder = mkdtempSync(join(tmpdir(), RUN_FOLDER_PREFIX));
  writeFileSync(join(folder, ".pid"), String(process.pid));
  // As open as the system's temporary folder (sticky, everyone may create in it): some tests run
  // the CLI as another user (nobody) in a folder they make here.
  chmodSync(folder, 0o1777);
  // Jest starts its workers after this, and they inherit the environment.
  process.env.TMPDIR = folder;
  process.env.ORCHESTRATOR_WORKERS_TEST_TMPDIR = folder;
  try {
    execFileSync(
      process.execPath,
      ["node_modules/typescript/bin/tsc", "-p", "tsconfig.build.json"],
      {
        stdio: "inherit",
      },
    );
  } catch {
    // Type errors still emit JavaScript; `npm run typecheck` is where they fail the build.
    console.warn("tests/helpers/global-setup.js: the build reported type errors (see above)");
  }
}

/** Removes the run folders whose Jest process is no longer running (a run that was killed). */
function removeFoldersOfEndedRuns(parent) {
  for (const name of readdirSync(parent)) {
    if (!name.startsWith(RUN_FOLDER_PREFIX)) continue;
    let pid;
    try {
      pid = Number(readFileSync(join(parent, name, ".pid"), "utf8"));
    } catch {
      continue;
    }
    if (Number.isInteger(pid) && pid > 0 && !isRunning(pid)) {
      rmSync(join(parent, name), { recursive: true, force: true });
    }
  }
}

function isRunning(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === "EPERM";
  }
}
