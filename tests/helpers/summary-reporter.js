/**
 * Ends every test run with one plain line, "N passed, N failed, N skipped", which CI reads
 * alongside the exit code.
 */
import process from "node:process";

export default class SummaryReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    process.stderr.write(
      `\n${results.numPassedTests} passed, ${results.numFailedTests} failed, ${skipped} skipped\n`,
    );
  }
}
