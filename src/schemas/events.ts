/**
 * Progress events the nodes emit on the `custom` stream mode (`graph.stream(input, { streamMode:
 * "custom" })`); the CLI's progress display, Studio and SDK clients read them.
 */
export type ProgressEvent =
  | {
      type: "plan_ready";
      sections: { id: string; name: string }[];
      source: "planner" | "input" | "checkpoint" | "review" | "replan";
      /** The planning round (1 for the first plan). */
      round?: number;
    }
  | { type: "wave_started"; sections: { id: string; name: string }[] }
  | { type: "section_started"; id: string; name: string; role?: string }
  | { type: "section_completed"; id: string; name: string; characters?: number }
  | {
      type: "section_reviewed";
      id: string;
      name: string;
      pass: boolean;
      /** The version reviewed: 0 for the first draft, n after the n-th revision. */
      revision: number;
      feedback?: string;
    }
  | { type: "section_failed"; id: string; name: string; error: string };

/** Sends a progress event when the run streams custom events; does nothing otherwise. */
export function emitProgress(
  config: { writer?: (chunk: unknown) => void } | undefined,
  event: ProgressEvent,
): void {
  config?.writer?.(event);
}
