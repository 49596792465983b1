import { useState } from "react";
import type { PlanReviewRequest } from "../../../src/schemas/review.js";

/** The answers a plan review resumes with (`Command({ resume })`). */
export type PlanAnswer =
  | { action: "approve" }
  | { action: "edit"; sections: { name: string; description: string }[] }
  | { action: "feedback"; feedback: string };

/**
 * The plan review the graph paused for (`reviewPlan: true`): approve the plan, edit its sections'
 * names and descriptions in place, or send it back with feedback for a new plan.
 */
export function PlanReview(props: {
  request: PlanReviewRequest;
  onAnswer: (answer: PlanAnswer) => void;
  disabled: boolean;
}) {
  const { request, onAnswer, disabled } = props;
  const [edited, setEdited] = useState<{ name: string; description: string }[] | undefined>();
  const [feedback, setFeedback] = useState("");
  const change = (index: number, field: "name" | "description", value: string) =>
    setEdited((sections) =>
      sections?.map((section, at) => (at === index ? { ...section, [field]: value } : section)),
    );

  return (
    <section data-testid="plan-review" className="review">
      <h2>Review the plan</h2>
      {request.error && <p data-testid="review-error">{request.error}</p>}
      {edited ? (
        <ol>
          {edited.map((section, index) => (
            <li key={index}>
              <input
                data-testid="edit-name"
                aria-label={`Name of section ${index + 1}`}
                value={section.name}
                onChange={(event) => change(index, "name", event.target.value)}
              />
              <textarea
                data-testid="edit-description"
                aria-label={`Description of section ${index + 1}`}
                value={section.description}
                onChange={(event) => change(index, "description", event.target.value)}
              />
            </li>
          ))}
        </ol>
      ) : (
        <ol>
          {request.plan.map((section) => (
            <li key={section.id}>
              <strong>{section.name}</strong>: {section.description}
            </li>
          ))}
        </ol>
      )}
      <div className="actions">
        {edited ? (
          <>
            <button
              data-testid="save-edit"
              disabled={disabled}
              onClick={() => onAnswer({ action: "edit", sections: edited })}
            >
              Write the edited plan
            </button>
            <button onClick={() => setEdited(undefined)}>Cancel</button>
          </>
        ) : (
          <>
            <button
              data-testid="approve"
              disabled={disabled}
              onClick={() => onAnswer({ action: "approve" })}
            >
              Approve
            </button>
            <button
              data-testid="edit"
              disabled={disabled}
              onClick={() =>
                setEdited(request.plan.map(({ name, description }) => ({ name, description })))
              }
            >
              Edit
            </button>
          </>
        )}
      </div>
      {!edited && request.revisionsLeft > 0 && (
        <div className="actions">
          <textarea
            data-testid="feedback"
            aria-label="What should the new plan change?"
            placeholder="What should the new plan change?"
            value={feedback}
            onChange={(event) => setFeedback(event.target.value)}
          />
          <button
            data-testid="send-back"
            disabled={disabled || !feedback.trim()}
            onClick={() => onAnswer({ action: "feedback", feedback })}
          >
            Send back ({request.revisionsLeft} left)
          </button>
        </div>
      )}
    </section>
  );
}
