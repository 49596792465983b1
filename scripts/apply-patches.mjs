// Applies patches/ with patch-package before `npm test`, `npm run bench` and `npm run dev`
// (pretest, prebench, predev; already applied patches are left as they are). Not an install
// script: people who install the package get no install-time script of ours. Without
// patch-package (an install without dev dependencies) it skips them with a note: the patches are
// speed-ups, not fixes of behaviour.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
let bin;
try {
  bin = require.resolve("patch-package/dist/index.js");
} catch {
  console.warn("patch-package is not installed (a dev dependency): patches/ not applied.");
  process.exit(0);
}
const result = spawnSync(process.execPath, [bin, "--error-on-fail"], { stdio: "inherit" });
process.exit(result.status ?? 1);
