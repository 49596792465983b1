import type { IncomingMessage } from "node:http";

/** The names of the structured-output schemas the graph and its tools ask for. */
export const STRUCTURED_KINDS = ["plan", "synthesis", "verification", "review", "judge"] as const;
export type StructuredKind = (typeof STRUCTURED_KINDS)[number];

/** What the local model servers record of every request, whatever API they imitate. */
export interface RecordedRequestBase {
  headers: IncomingMessage["headers"];
  /**
   * "section" for writing; for structured requests, the schema's name: "plan" (planner),
   * "synthesis" (aggregator), "verification" (citation verifier), "review" (section reviewer),
   * "judge" (the evaluation harness's judge).
   */
  kind: "section" | StructuredKind;
  /** The section a writing request is for. */
  sectionName?: string;
  /** The first user message's text: the planner's or the writer's task. */
  prompt: string;
  /** Names of the tools offered with the request. */
  tools: string[];
  /** Contents of the tool results in the conversation so far. */
  toolResults: string[];
  /** When the server received it (`Date.now()`). */
  receivedAt: number;
}

/** An HTTP request's body as text. */
export function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}
