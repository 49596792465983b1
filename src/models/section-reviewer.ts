import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { HumanMessage, SystemMessage } from "@langchain/core/messages";
import type { StructuredOutputStrategy } from "../schemas/configuration.js";
import { reviewerUserPrompt } from "../schemas/prompts.js";
import { SectionReviewAnswerSchema, type SectionReviewAnswer } from "../schemas/section.js";
import type { ModelCall } from "../schemas/usage.js";
import { askStructuredValue } from "./structured-output.js";

/** Most follow-up searches a review may ask for. */
export const MAX_FOLLOW_UP_QUERIES = 3;

/**
 * Has the reviewer model grade one version of a section against its description and the topic,
 * in one structured call (schema `review`). Its calls are appended to `calls`; an answer that
 * stays unusable throws.
 */
export async function reviewSection(options: {
  model: BaseChatModel;
  topic: string;
  section: { id: string; name: string; description: string };
  content: string;
  revision: number;
  systemPrompt: string;
  strategy: StructuredOutputStrategy;
  callOptions: { tags?: string[]; metadata?: Record<string, unknown> };
  calls: ModelCall[];
}): Promise<SectionReviewAnswer> {
  const answer = await askStructuredValue({
    model: options.model,
    schema: SectionReviewAnswerSchema,
    name: "review",
    messages: [
      new SystemMessage(options.systemPrompt),
      new HumanMessage(
        reviewerUserPrompt({
          topic: options.topic,
          section: options.section,
          content: options.content,
          revision: options.revision,
        }),
      ),
    ],
    callOptions: options.callOptions,
    strategy: options.strategy,
    calls: options.calls,
    record: { role: "reviewer", sectionId: options.section.id },
    what: "a valid review",
    errorName: "ReviewError",
  });
  return {
    pass: answer.pass,
    feedback: answer.feedback.trim(),
    followUpQueries: answer.followUpQueries
      .map((query) => query.trim())
      .filter(Boolean)
      .slice(0, MAX_FOLLOW_UP_QUERIES),
  };
}
