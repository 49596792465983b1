import type { ReportStateType, ReportUpdate } from "../graph/state.js";
import { OFFLINE_MODEL_NAME, OFFLINE_NOTICE } from "../models/offline-chat-model.js";
import type { CompletedSection, FailedSection } from "../schemas/section.js";

/**
 * The synthesizer node, which assembles the report:
 * 1. indexes completed sections by id (a later entry for the same id wins);
 * 2. walks the plan in order, never the arrival order or the names, writing a `## <name>` heading
 *    and the section's body, or a visible marker (with the error, when its worker failed) where a
 *    section is missing;
 * 3. puts the topic as the title, and labels a report written by the offline model.
 */
export function synthesizer(state: ReportStateType): ReportUpdate {
  return { report: assembleReport(state) };
}

/** Assembles the Markdown report from the plan and the completed sections. */
export function assembleReport(state: {
  topic: string;
  plan: { id: string; name: string }[];
  completedSections: CompletedSection[];
  failedSections?: FailedSection[];
}): string {
  const byId = new Map(state.completedSections.map((section) => [section.id, section]));
  const failedById = new Map((state.failedSections ?? []).map((section) => [section.id, section]));
  const title = state.topic.trim().split("\n")[0] ?? state.topic;
  const parts = [`# ${title}`];
  if (state.completedSections.some((section) => section.model === OFFLINE_MODEL_NAME)) {
    parts.push(`> **Note:** ${OFFLINE_NOTICE}`);
  }
  for (const section of state.plan) {
    const completed = byId.get(section.id);
    parts.push(`## ${section.name}`);
    const failed = failedById.get(section.id);
    parts.push(
      completed?.content ??
        (failed
          ? `_This section is missing: writing it failed (${failed.error})._`
          : `_This section is missing: it was not written._`),
    );
  }
  return `${parts.join("\n\n")}\n`;
}
