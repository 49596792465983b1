// `prepare` (run by npm ci and npm install in this repository): applies patches/ with
// patch-package. An install without dev dependencies (an image built with NODE_ENV=production)
// has no patch-package and needs no patch: the one carried is a tracing speed-up, so it is skipped
// there with a note rather than failing the install.
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
