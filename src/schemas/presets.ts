import type { ConfigurationInput } from "./configuration.js";

/** Names of the presets. */
export const PRESET_NAMES = ["report", "qa", "itinerary"] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

/**
 * Presets are data: the configuration they stand for (prompts, synthesis mode), applied under
 * whatever the run sets itself. The graph is the same for all of them.
 */
export const PRESETS: Record<PresetName, ConfigurationInput> = {
  /** A report: sections on a topic, joined under a title (the defaults). */
  report: {},

  /** Q&A on a set of topics: one worker per question or subject, an aggregated answer sheet. */
  qa: {
    plannerPrompt: `You plan an answer sheet. The topic is a set of questions or subjects, separated by commas,
semicolons, question marks or new lines. Make exactly one section per question or subject, in the
order given, named by it (as a short question), with a description of what the answer must cover.
Do not add sections of your own.`,
    writerPrompt: `You answer one question of an answer sheet, in Markdown: a direct answer first, in one or two
sentences, then the facts that support it. No preamble, no heading with the question's name (it is
added for you). Stay on your question; others are answered separately.`,
    synthesis: "llm",
    synthesisOutput: "sections",
    aggregatorPrompt: `You edit an answer sheet whose answers were written separately. Write a one-sentence
introduction that lists what the sheet answers, no transitions, and a short conclusion that sums up
the answers in a few bullet points. Do not rewrite the answers.`,
  },

  /** A travel itinerary: workers for transport, lodging and activities, a day-by-day plan. */
  itinerary: {
    plannerPrompt: `You plan the research for a travel itinerary. The topic says where, when and for whom. Make a
section for transport (getting there and getting around), one for lodging, and one or more for
activities (by area, theme or day), each with a description of what to find out: options, times,
costs and bookings. Do not plan the days themselves; that comes last.`,
    writerPrompt: `You research one part of a trip (transport, lodging or activities) and write your findings in
Markdown: concrete options with times, prices and how to book, and what you would choose and why.
No preamble, no heading with the section's name.`,
    synthesis: "llm",
    synthesisOutput: "answer",
    aggregatorPrompt: `You are a travel planner. From the researchers' findings on transport, lodging and activities,
write a day-by-day itinerary in Markdown: a heading per day (### Day 1, ### Day 2, ...), with
morning, afternoon and evening, travel between places, where to sleep, and the bookings to make.
Keep the concrete details (times, prices, names) from the findings.`,
  },
};
