import type { Message } from "@langchain/langgraph-sdk";
import { useStream } from "@langchain/langgraph-sdk/react";
import { useEffect, useState, type FormEvent } from "react";
// Types only (erased at build time). In your own app: `from "orchestrator-workers"`.
import type { ProgressEvent } from "../../../src/schemas/events.js";
import type { PlanReviewRequest } from "../../../src/schemas/review.js";
import { PlanReview, type PlanAnswer } from "./PlanReview";

/** The dev server: `?apiUrl=...`, or where `npm run dev` listens by default. */
const apiUrl = new URLSearchParams(window.location.search).get("apiUrl") ?? "http://127.0.0.1:2024";

/** The parts of the report graph's state this page shows. */
interface ReportValues extends Record<string, unknown> {
  messages?: Message[];
  completedSections?: { id: string; name: string; content: string }[];
}

/** A section as the page shows it: planned, being written, written or failed. */
interface SectionView {
  id: string;
  name: string;
  status: "planned" | "writing" | "written" | "failed";
  /** Why it failed, when it did. */
  error?: string;
}

/** What the progress events (the `custom` stream) say about the plan and its sections. */
function progressOf(sections: SectionView[], event: ProgressEvent): SectionView[] {
  const status = (id: string, next: Omit<SectionView, "id" | "name">) =>
    sections.map((section) => (section.id === id ? { ...section, ...next } : section));
  switch (event.type) {
    case "plan_ready":
      return event.sections.map(({ id, name }) => ({ id, name, status: "planned" }));
    case "section_started":
      return status(event.id, { status: "writing" });
    case "section_completed":
      return status(event.id, { status: "written" });
    case "section_failed":
      return status(event.id, { status: "failed", error: event.error });
    default:
      return sections;
  }
}

/** The section a streamed message belongs to: a writer's model call carries its `section_id`. */
function sectionIdOf(metadata: Record<string, unknown> | undefined): string | undefined {
  const tags = metadata?.tags;
  if (!Array.isArray(tags) || !tags.includes("writer")) return undefined;
  return typeof metadata?.section_id === "string" ? metadata.section_id : undefined;
}

/** A message's text: its content when a string, else its text parts. */
function textOf(message: Message): string {
  if (typeof message.content === "string") return message.content;
  return message.content.map((part) => (part.type === "text" ? part.text : "")).join("");
}

export function App() {
  const [request, setRequest] = useState("");
  const [reviewPlan, setReviewPlan] = useState(false);
  const [sections, setSections] = useState<SectionView[]>([]);
  // Each section's text as its writer streams it, token by token (`messages-tuple`).
  const [drafts, setDrafts] = useState<Record<string, string>>({});

  const stream = useStream<
    ReportValues,
    { InterruptType: PlanReviewRequest; CustomEventType: ProgressEvent }
  >({
    apiUrl,
    assistantId: "report",
    onCustomEvent: (event) => setSections((current) => progressOf(current, event)),
  });

  // `stream.messages` is the thread's chat plus the messages streaming in. A writer's message is
  // not part of the chat: it leaves the list when the next state arrives, so its text is kept here.
  const messages = stream.messages.map((message) => ({
    message,
    section: sectionIdOf(stream.getMessagesMetadata(message)?.streamMetadata),
  }));
  const streamed = messages.flatMap(({ message, section }) =>
    section && message.type === "ai" ? [[section, textOf(message)] as const] : [],
  );
  useEffect(() => {
    setDrafts((current) => {
      const changed = streamed.filter(([id, text]) => current[id] !== text);
      return changed.length ? { ...current, ...Object.fromEntries(changed) } : current;
    });
  }, [streamed]);

  const config = { configurable: { reviewPlan } };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSections([]);
    setDrafts({});
    // What chat clients send: a human message, whose text the graph takes as the topic. It is
    // shown at once (optimistically), so the previous answer is no longer the last one.
    const human: Message = { type: "human", content: request };
    void stream.submit(
      { messages: [human] },
      { config, optimisticValues: (prev) => ({ messages: [...(prev.messages ?? []), human] }) },
    );
  };
  const answer = (resume: PlanAnswer) =>
    void stream.submit(undefined, { config, command: { resume } });

  const values = stream.values;
  const review =
    stream.interrupt?.value?.type === "plan_review" ? stream.interrupt.value : undefined;
  const written = new Map(values.completedSections?.map((section) => [section.id, section]));
  // The run's answer, the report's Markdown: the AI message after the last request.
  const lastRequest = messages.findLastIndex(({ message }) => message.type === "human");
  const report = messages
    .slice(lastRequest + 1)
    .find(({ message, section }) => message.type === "ai" && !section)?.message;

  return (
    <main>
      <h1>Report writer</h1>
      <form onSubmit={submit}>
        <input
          data-testid="request"
          aria-label="What should the report be about?"
          placeholder="What should the report be about?"
          value={request}
          onChange={(event) => setRequest(event.target.value)}
        />
        <button data-testid="submit" type="submit" disabled={stream.isLoading || !request.trim()}>
          Write the report
        </button>
        <label>
          <input
            data-testid="review-plan"
            type="checkbox"
            checked={reviewPlan}
            onChange={(event) => setReviewPlan(event.target.checked)}
          />
          Review the plan first
        </label>
      </form>

      {stream.error != null && (
        <p data-testid="error" className="failed">
          {stream.error instanceof Error ? stream.error.message : JSON.stringify(stream.error)}
        </p>
      )}

      {sections.length > 0 && (
        <section>
          <h2>Plan</h2>
          <ol data-testid="plan">
            {sections.map((section) => (
              <li key={section.id} data-testid="plan-section" data-status={section.status}>
                <span data-testid="plan-section-name">{section.name}</span>{" "}
                <small>{section.status}</small>
              </li>
            ))}
          </ol>
        </section>
      )}

      {review && <PlanReview request={review} onAnswer={answer} disabled={stream.isLoading} />}

      {!review &&
        sections.map((section) => (
          <article key={section.id} data-testid="section" data-section-id={section.id}>
            <h3>{section.name}</h3>
            {section.status === "failed" ? (
              <p className="failed">{section.error}</p>
            ) : (
              <p data-testid="section-text" data-streamed={section.id in drafts}>
                {/* The stored text once this run wrote it: until the new plan is stored, the
                    thread's state still holds the previous plan's sections. */}
                {(section.status === "written" && written.get(section.id)?.content) ||
                  drafts[section.id]}
              </p>
            )}
          </article>
        ))}

      {report && (
        <section>
          <h2>Report</h2>
          <pre data-testid="report">{textOf(report)}</pre>
        </section>
      )}
    </main>
  );
}
