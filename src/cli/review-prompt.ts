import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PlanReviewRequest } from "../schemas/review.js";

/** How the CLI talks to the reviewer: prompts on stderr, answers one line at a time. */
export interface ReviewTerminal {
  say: (text: string) => void;
  /** The next line the reviewer typed, or undefined when input has ended. */
  readLine: () => Promise<string | undefined>;
  /** Command that edits a file in place ($VISUAL or $EDITOR), when there is one and a terminal. */
  editor?: string;
}

/**
 * Shows the plan under review and asks for an answer: approve, edit (in the editor, or as a JSON
 * array or file path typed on one line) or feedback. Returns the resume value, or undefined when
 * input ended before an answer.
 */
export async function askPlanReview(
  request: PlanReviewRequest,
  terminal: ReviewTerminal,
): Promise<unknown> {
  const { say } = terminal;
  say(
    `\nPlan for "${request.topic}" (${request.revisionsLeft} revision${request.revisionsLeft === 1 ? "" : "s"} left):\n`,
  );
  for (const section of request.plan)
    say(`  ${section.id}  ${section.name}: ${section.description}\n`);
  if (request.error) say(`${request.error}\n`);
  for (;;) {
    say("Approve, edit, or send back with feedback? [a/e/f] ");
    const choice = await terminal.readLine();
    if (choice === undefined) return undefined;
    switch (choice.trim().toLowerCase()) {
      case "a":
      case "approve":
        return { action: "approve" };
      case "f":
      case "feedback": {
        say("Feedback for the planner: ");
        const feedback = await terminal.readLine();
        return feedback === undefined ? undefined : { action: "feedback", feedback };
      }
      case "e":
      case "edit": {
        const sections = await editPlan(request, terminal);
        if (sections === null) return undefined;
        if (sections !== undefined) return { action: "edit", sections };
        break;
      }
      default:
        say('Answer "a" to approve, "e" to edit or "f" to give feedback.\n');
    }
  }
}

/** The edited sections; undefined to ask again (the text could not be read), null when input ended. */
async function editPlan(
  request: PlanReviewRequest,
  terminal: ReviewTerminal,
): Promise<unknown[] | undefined | null> {
  const current = request.plan.map(({ name, description }) => ({ name, description }));
  let text: string | undefined;
  if (terminal.editor) {
    const directory = await mkdtemp(join(tmpdir(), "plan-review-"));
    const file = join(directory, "plan.json");
    try {
      await writeFile(file, `${JSON.stringify(current, null, 2)}\n`);
      const result = spawnSync(`${terminal.editor} "${file}"`, { shell: true, stdio: "inherit" });
      if (result.status !== 0) {
        terminal.say(`The editor exited with status ${result.status}; the plan is unchanged.\n`);
        return undefined;
      }
      text = await readFile(file, "utf8");
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  } else {
    terminal.say(
      "Edited plan, as a JSON array of { name, description } on one line, or a JSON file's path: ",
    );
    const line = await terminal.readLine();
    if (line === undefined) return null;
    text = line.trim().startsWith("[") ? line : await readFile(line.trim(), "utf8").catch(() => "");
  }
  try {
    const value = JSON.parse(text) as unknown;
    if (Array.isArray(value)) return value as unknown[];
  } catch {
    // reported below
  }
  terminal.say("That is not a JSON array of sections; try again.\n");
  return undefined;
}
