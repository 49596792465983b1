/**
 * The LangGraph docs' orchestrator-worker tutorial graph, as the baseline: its shape and nothing
 * more. No checkpointer, no concurrency limit, no retries of its own, no failure handling.
 */
import { z } from "zod";
import { Annotation, END, Send, START, StateGraph } from "@langchain/langgraph";
import { HumanMessage, SystemMessage } from "@langchain/core/messages";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";

const sectionSchema = z.object({
  name: z.string().describe("Name for this section of the report."),
  description: z
    .string()
    .describe("Brief overview of the main topics and concepts of the section."),
});
const sectionsSchema = z.object({
  sections: z.array(sectionSchema).describe("Sections of the report."),
});

const StateAnnotation = Annotation.Root({
  topic: Annotation<string>,
  sections: Annotation<z.infer<typeof sectionSchema>[]>,
  completed_sections: Annotation<string[]>({ default: () => [], reducer: (a, b) => a.concat(b) }),
  final_report: Annotation<string>,
});

// The tutorial declares the worker state this way; only its type is used here.
// eslint-disable-next-line @typescript-eslint/no-unused-vars
const WorkerStateAnnotation = Annotation.Root({
  section: Annotation<z.infer<typeof sectionSchema>>,
  completed_sections: Annotation<string[]>({ default: () => [], reducer: (a, b) => a.concat(b) }),
});

/** Builds the tutorial graph around `model` (used for both planner and workers, as in the docs). */
export function buildBaselineGraph(model: BaseChatModel) {
  const planner = model.withStructuredOutput(sectionsSchema);

  async function orchestrator(state: typeof StateAnnotation.State) {
    const reportSections = await planner.invoke([
      new SystemMessage("Generate a plan for the report."),
      new HumanMessage(`Here is the report topic: ${state.topic}`),
    ]);
    return { sections: reportSections.sections };
  }

  async function llmCall(state: typeof WorkerStateAnnotation.State) {
    const section = await model.invoke([
      new SystemMessage("Write a report section following the provided name and description."),
      new HumanMessage(
        `<Section name>\n${state.section.name}\n</Section name>\n\nHere is the section description: ${state.section.description}`,
      ),
    ]);
    return { completed_sections: [section.text] };
  }

  function synthesizer(state: typeof StateAnnotation.State) {
    return { final_report: state.completed_sections.join("\n\n---\n\n") };
  }

  function assignWorkers(state: typeof StateAnnotation.State) {
    return state.sections.map((section) => new Send("llm_call", { section }));
  }

  return new StateGraph(StateAnnotation)
    .addNode("orchestrator", orchestrator)
    .addNode("llm_call", llmCall)
    .addNode("synthesizer", synthesizer)
    .addEdge(START, "orchestrator")
    .addConditionalEdges("orchestrator", assignWorkers, ["llm_call"])
    .addEdge("llm_call", "synthesizer")
    .addEdge("synthesizer", END)
    .compile();
}
