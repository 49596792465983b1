/**
 * Builds the package once before the tests, so the CLI tests run the CLI as users of the package
 * do (`node dist/cli/main.js`, what the `bin` points at) instead of compiling it in every child.
 */
import { execFileSync } from "node:child_process";

export default function globalSetup() {
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
