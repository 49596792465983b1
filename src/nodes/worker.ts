import { HumanMessage, SystemMessage } from "@langchain/core/messages";
import { isGraphBubbleUp, type LangGraphRunnableConfig } from "@langchain/langgraph";
import { SectionError } from "../errors.js";
import { resolveConfiguration } from "../graph/configuration.js";
import { emitProgress } from "../graph/events.js";
import type { ReportUpdate, WorkerInputType } from "../graph/state.js";
import { chatModelName, type ChatModelProvider } from "../models/chat-models.js";
import type { Configuration } from "../schemas/configuration.js";
import { writerUserPrompt } from "./prompts.js";
import { annotateNodeRun } from "../graph/tracing.js";

/**
 * Creates the worker node, which writes one section:
 * 1. receives only the topic and its own section (through `Send`), never the whole state;
 * 2. asks the writer model for the section's Markdown body;
 * 3. drops a leading heading that repeats the section's name (the synthesizer adds it);
 * 4. appends `{ id, name, content, model }` to `completedSections`;
 * 5. when writing fails after the model client's own retries, records `{ id, name, error }` in
 *    `failedSections` and lets the other sections finish, unless `failFast` is configured.
 *    Interrupts, cancellation and fail-fast runs still propagate the error.
 */
export function createWorkerNode(dependencies: { models: ChatModelProvider }) {
  return async function worker(
    { topic, section }: WorkerInputType,
    config: LangGraphRunnableConfig,
  ): Promise<ReportUpdate> {
    const configuration = resolveConfiguration(config);
    try {
      return await writeSection(dependencies.models, configuration, { topic, section }, config);
    } catch (error) {
      if (configuration.failFast || isGraphBubbleUp(error) || config.signal?.aborted) throw error;
      const message = errorMessage(error);
      emitProgress(config, {
        type: "section_failed",
        id: section.id,
        name: section.name,
        error: message,
      });
      return { failedSections: [{ id: section.id, name: section.name, error: message }] };
    }
  };
}

/** Writes one section: one model call, its text cleaned, the result as a state update. */
async function writeSection(
  models: ChatModelProvider,
  configuration: Configuration,
  { topic, section }: WorkerInputType,
  config: LangGraphRunnableConfig,
): Promise<ReportUpdate> {
  const writer = models({ role: "writer", configuration });
  const sectionMetadata = { section_id: section.id, section_name: section.name };
  annotateNodeRun(config, { metadata: sectionMetadata, tags: [`section:${section.id}`] });
  emitProgress(config, { type: "section_started", id: section.id, name: section.name });
  // The metadata rides along with every token in `streamMode: "messages"` and on the model's run.
  const response = await writer.invoke(
    [
      new SystemMessage(configuration.writerPrompt),
      new HumanMessage(writerUserPrompt({ topic, section })),
    ],
    { metadata: sectionMetadata, tags: ["writer", `section:${section.id}`] },
  );
  const content = sectionBody(response.text, section.name);
  if (!content) {
    throw new SectionError({
      sectionId: section.id,
      sectionName: section.name,
      message: `The writer model returned no text for section "${section.name}" (${section.id}).`,
    });
  }
  emitProgress(config, {
    type: "section_completed",
    id: section.id,
    name: section.name,
    characters: content.length,
  });
  return {
    completedSections: [
      { id: section.id, name: section.name, content, model: chatModelName(writer) },
    ],
  };
}

/** One line, at most 300 characters: enough to tell what went wrong, small enough for the state. */
function errorMessage(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const line = text.replace(/\s*\n\s*/g, " ").trim();
  return line.length > 300 ? `${line.slice(0, 299)}…` : line;
}

/** The section's body: trimmed, without a first heading that only repeats the section's name. */
export function sectionBody(text: string, name: string): string {
  const trimmed = text.trim();
  const [first = "", ...rest] = trimmed.split("\n");
  const heading = /^#{1,6}\s+(.*?)\s*#*$/.exec(first.trim());
  if (heading && normalize(heading[1]!) === normalize(name)) return rest.join("\n").trim();
  return trimmed;
}

function normalize(text: string): string {
  return text.replace(/[*_`]/g, "").trim().toLowerCase();
}
