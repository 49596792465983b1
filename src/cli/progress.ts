import type { PendingWrite } from "@langchain/langgraph-checkpoint";
import type { ProgressEvent } from "../schemas/events.js";

/**
 * The CLI's progress lines on stderr: the plan when it is announced, each section review's verdict,
 * and a counted line per section once its result is stored (so "done" means it survives a crash). Silent with `quiet`.
 */
export class ProgressDisplay {
  private total = 0;
  private done = 0;

  constructor(
    private readonly say: (text: string) => void,
    private readonly quiet: boolean,
  ) {}

  /** Counts on from what a stored run already has (a resumed or re-run thread). */
  resumeFrom(stored: { total: number; done: number }): void {
    this.total = stored.total;
    this.done = stored.done;
  }

  /** A task's writes were stored: each written or failed section is one line. */
  onSaved(writes: PendingWrite[]): void {
    for (const [channel, value] of writes) {
      // Workers write arrays of sections; the orchestrator's resets (Overwrite) are not progress.
      if (this.quiet || !Array.isArray(value)) continue;
      if (channel !== "completedSections" && channel !== "failedSections") continue;
      for (const section of value as { name: string; error?: string }[]) {
        this.done += 1;
        const count = `[${this.done}${this.total ? `/${this.total}` : ""}]`;
        this.say(
          section.error === undefined
            ? `${count} done: ${section.name}\n`
            : `${count} FAILED: ${section.name}: ${section.error}\n`,
        );
      }
    }
  }

  /** A custom stream event: a plan announcement prints the plan, a section review its verdict. */
  onEvent(event: ProgressEvent, writtenBefore: number): void {
    if (this.quiet) return;
    if (event.type === "section_reviewed") {
      const version = event.revision === 0 ? "first draft" : `revision ${event.revision}`;
      const verdict = event.pass ? "passed" : "failed";
      const why = event.feedback ? `: ${event.feedback.split("\n")[0]!.slice(0, 160)}` : "";
      this.say(`review: ${event.name} (${version}) ${verdict}${why}\n`);
      return;
    }
    if (event.type !== "plan_ready") return;
    this.total = event.sections.length;
    const kept = event.source === "checkpoint";
    // A re-run keeps the sections already written; progress counts on from them.
    if (kept) this.done = writtenBefore;
    const from = kept ? ` (kept from the earlier run, ${this.done} written)` : "";
    this.say(`Plan: ${this.total} section${this.total === 1 ? "" : "s"}${from}\n`);
    for (const section of event.sections) this.say(`  ${section.id}  ${section.name}\n`);
  }
}
