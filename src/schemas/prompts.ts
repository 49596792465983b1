/**
 * Prompt constants. System prompts are configurable (see `configuration.ts`); the user messages
 * below are built in code from tagged blocks so that the facts a node must pass on (the topic,
 * the section bound, the section itself) reach the model whatever system prompt is configured.
 */

/** Default system prompt of the planner (orchestrator) model. */
export const PLANNER_SYSTEM_PROMPT = `You are the planner of a report written by a team of writers.
You split the report into sections that separate writers can write in parallel, each without
seeing the others' work. Give every section a short name and a description precise enough that
its writer knows exactly what to cover and what to leave to other sections. Avoid overlap between
sections. Order the sections as a reader should read them.`;

/** Default system prompt of the writer (worker) model. */
export const WRITER_SYSTEM_PROMPT = `You write one section of a report, in Markdown.
Write only the section's body: no preamble ("Here is..."), no closing remarks, and no heading
with the section's name (it is added for you). Sub-headings start at level 3 (###). Stay inside
the section's scope; other writers cover the other sections.`;

/** Default system prompt of the aggregator model (synthesis: llm). */
export const AGGREGATOR_SYSTEM_PROMPT = `You are the editor of a report whose sections were written by separate writers.
You frame their work: a short introduction that tells the reader what the report covers, a short
transition before a section only where the move from the previous one needs it, and a conclusion
that draws the sections together. Do not repeat or rewrite the sections themselves.`;

/** The aggregator's user message: the topic and the sections (or their summaries), in order. */
export function aggregatorUserPrompt(options: {
  topic: string;
  sections: { id: string; name: string; text: string }[];
  summarized: boolean;
  output: "sections" | "answer";
}): string {
  const sections = options.sections
    .map(
      (section) =>
        `<Section id="${section.id}" name="${section.name}">\n${section.text}\n</Section>`,
    )
    .join("\n\n");
  const task =
    options.output === "answer"
      ? "Write one combined answer to the topic from the sections, in Markdown."
      : "Write the introduction, the transitions that are needed (by the id of the section they come before), and the conclusion.";
  return `<Report topic>
${options.topic}
</Report topic>

<Sections${options.summarized ? " (summaries: the full sections were too long to read at once)" : ""}>
${sections}
</Sections>

<Task>
${task}
</Task>`;
}

/** The planner's user message: the topic, the bound, and a reviewer's feedback on a previous plan. */
export function plannerUserPrompt(options: {
  topic: string;
  maxSections: number;
  review?: { previousPlan: { name: string; description: string }[]; feedback: string };
  /** The roster, when the planner assigns roles (more than one role). */
  roles?: { name: string; background: string }[];
}): string {
  const roles = options.roles
    ? `

<Roles>
${options.roles.map((role) => `- ${role.name}: ${role.background}`).join("\n")}
</Roles>`
    : "";
  const review = options.review
    ? `

<Previous plan>
${options.review.previousPlan.map((section, index) => `${index + 1}. ${section.name}: ${section.description}`).join("\n")}
</Previous plan>

<Reviewer feedback>
${options.review.feedback}
</Reviewer feedback>`
    : "";
  return `<Report topic>
${options.topic}
</Report topic>${roles}${review}

<Task>
Plan the sections of a report on the topic above. Use at most ${options.maxSections} sections,
and no more than the topic needs. Sections get the ids s1, s2, ... in the order you list them. When
a section needs another's text to be written (a summary of the findings, say), list that section's
id in its dependsOn; it is then written after it. Leave dependsOn empty for sections that stand
alone, so that they can be written in parallel.${options.roles ? " Give each section the role best suited to write it." : ""}${options.review ? " Revise the previous plan as the reviewer asks." : ""}
</Task>`;
}

/** The planner's user message in a later round: what was written so far, and the room left. */
export function replanUserPrompt(options: {
  topic: string;
  round: number;
  room: number;
  written: { id: string; name: string; summary: string }[];
}): string {
  return `<Report topic>
${options.topic}
</Report topic>

<Written so far>
${options.written.map((section) => `${section.id}. ${section.name}: ${section.summary}`).join("\n")}
</Written so far>

<Task>
This is planning round ${options.round}. From what was written, decide whether the report needs more
sections: what it found that deserves its own section, or what is still missing. Add at most
${options.room} sections; new sections get the next ids (continuing after the last one above) and may
list earlier ids in dependsOn. Return no sections if the plan is complete.
</Task>`;
}

/** The blocks that say which section of which report a prompt is about. */
function sectionBlocks(options: {
  topic: string;
  section: { name: string; description: string };
}): string {
  return `<Report topic>
${options.topic}
</Report topic>

<Section name>
${options.section.name}
</Section name>

<Section description>
${options.section.description}
</Section description>`;
}

/** The worker's user message: the topic and its own section, and the sections it builds on. */
export function writerUserPrompt(options: {
  topic: string;
  section: { name: string; description: string };
  dependencies?: { name: string; content: string }[];
}): string {
  const dependencies = options.dependencies?.length
    ? `

<Sections this one builds on>
${options.dependencies.map((dependency) => `## ${dependency.name}\n\n${dependency.content}`).join("\n\n")}
</Sections this one builds on>`
    : "";
  return `${sectionBlocks(options)}${dependencies}

<Task>
Write this section's body in Markdown.
</Task>`;
}

/** Added to the writer's system prompt when its section has a specialist role. */
export function rolePrompt(role: { name: string; background: string }): string {
  return `<Your role>
You write as the team's ${role.name}. ${role.background}
</Your role>`;
}

/** Added to the writer's system prompt when it has tools. */
export const TOOL_USE_PROMPT = `You can call tools to find material for your section before you write it. Each passage a tool
returns has a key. When your section uses a passage, cite it inline with its key in square
brackets, exactly as given, for example [docs/tides.md:12-30]. Cite only passages the tools
returned. When you have what you need, write the section; do not call tools after that.`;

/** Given with the sources looked up for a writer whose server cannot do tool calls. */
export const RETRIEVED_SOURCES_PROMPT = `These passages were looked up for your section. Each has a key. When your section uses a
passage, cite it inline with its key in square brackets, exactly as given. Cite only these passages.`;

/** System prompt of the citation verifier (verifyCitations: llm). */
export const VERIFIER_SYSTEM_PROMPT = `You check citations. For each numbered claim you get a sentence from a report and the source
passage it cites. Decide whether the passage supports what the sentence says: supported means the
passage states it or plainly implies it; a sentence that adds facts the passage does not contain
is not supported. Give a verdict for every claim, by its number, with a one-line reason.`;

/** The verifier's task: numbered claims, each a sentence and the passage it cites. */
export function verifierUserPrompt(options: {
  topic: string;
  claims: { sentence: string; key: string; passage: string }[];
}): string {
  const claims = options.claims
    .map(
      (claim, index) => `<Claim number="${index + 1}">
<Sentence>
${claim.sentence}
</Sentence>
<Cited passage key="${claim.key}">
${claim.passage}
</Cited passage>
</Claim>`,
    )
    .join("\n\n");
  return `<Report topic>
${options.topic}
</Report topic>

${claims}

<Task>
For each claim, say whether its cited passage supports its sentence.
</Task>`;
}

/** System prompt of the section reviewer (sectionReview). */
export const REVIEWER_SYSTEM_PROMPT = `You review one section of a report. Grade it against the report's topic and the section's
description: does it cover what the description asks, accurately, clearly, without straying into
other sections' scope? Pass it when it does. Otherwise fail it with feedback the writer can act on,
and, when more research would help, up to three follow-up search queries.`;

/** The reviewer's task: one section's text, against its description and the topic. */
export function reviewerUserPrompt(options: {
  topic: string;
  section: { name: string; description: string };
  content: string;
  revision: number;
}): string {
  return `${sectionBlocks(options)}

<Revision>
${options.revision}
</Revision>

<Section text>
${options.content}
</Section text>

<Task>
Grade this section against its description and the topic.
</Task>`;
}

/** A writer's task when the reviewer failed its section: the draft, the feedback, what was found. */
export function revisionUserPrompt(options: {
  /** The writer's original task (`writerUserPrompt`). */
  task: string;
  draft: string;
  feedback: string;
  sources?: string;
}): string {
  const sources = options.sources
    ? `

<Sources>
${options.sources}
</Sources>`
    : "";
  return `${options.task}

<Draft>
${options.draft}
</Draft>

<Reviewer feedback>
${options.feedback}
</Reviewer feedback>${sources}

<Task>
Rewrite the section's body in Markdown so that it answers the feedback. Keep what was right;
cite the sources you use with their keys in square brackets, exactly as given.
</Task>`;
}

/** The last message of a tool-using worker that reached its step limit. */
export const FINAL_STEP_PROMPT = `You have used all your tool calls. Write the section now from what you have, citing the passages
you use with their keys in square brackets.`;

/**
 * Reads the `<Tag>value</Tag>` blocks of a prompt built by this module, by tag. The offline model
 * and the test doubles use it to know which section a writing request is for.
 */
export function promptBlocks(text: string): Map<string, string> {
  const blocks = new Map<string, string>();
  for (const match of text.matchAll(/<([A-Za-z][\w ]*)>\n?([\s\S]*?)\n?<\/\1>/g)) {
    blocks.set(match[1]!, match[2]!.trim());
  }
  return blocks;
}

/** Default system prompt of a generic graph's planner model (`createOrchestratorWorkers`). */
export const SUBTASK_PLANNER_SYSTEM_PROMPT = `You are the orchestrator of a team of workers.
You split a request into subtasks that separate workers can carry out in parallel, each without
seeing the others' work. Fill in every field of each subtask precisely enough that its worker knows
exactly what to do. Avoid overlap between subtasks; list them in the order their results should be
read.`;

/** A generic planner's user message: the request, the bound, and a reviewer's feedback. */
export function subtaskPlannerUserPrompt(options: {
  request: string;
  maxSubtasks: number;
  review?: { previousPlan: unknown[]; feedback: string };
  round?: { number: number; room: number; done: { id: string; result: string }[] };
}): string {
  const review = options.review
    ? `

<Previous plan>
${JSON.stringify(options.review.previousPlan)}
</Previous plan>

<Reviewer's feedback>
${options.review.feedback}
</Reviewer's feedback>`
    : "";
  if (options.round) {
    return `<Request>
${options.request}
</Request>

<Done so far>
${options.round.done.map((entry) => `${entry.id}: ${entry.result}`).join("\n")}
</Done so far>

<Task>
This is planning round ${options.round.number}. From what was done, decide whether the request needs
more subtasks. Add at most ${options.round.room}; new subtasks get the next ids and may list earlier ids
in dependsOn. Return no subtasks if the work is complete.
</Task>`;
  }
  return `<Request>
${options.request}
</Request>${review}

<Task>
Split the request into at most ${options.maxSubtasks} subtasks. They get the ids s1, s2, ... in the
order you list them. When a subtask needs the result of another, list that id in its dependsOn; it
then runs after it. Leave dependsOn empty for subtasks that stand alone, so they run in parallel.${options.review ? " Revise the previous plan as the reviewer asks." : ""}
</Task>`;
}
