/** After the tests, passed or failed: removes the run's temporary folder (see global-setup.js). */
import { rmSync } from "node:fs";

export default function globalTeardown() {
  const folder = process.env.ORCHESTRATOR_WORKERS_TEST_TMPDIR;
  if (folder) rmSync(folder, { recursive: true, force: true, maxRetries: 3 });
}
