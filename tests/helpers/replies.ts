/** Replies for the local OpenAI-compatible test server's `respond` option. */
import type { RecordedRequest, ServerReply } from "../../src/testing/index.js";

/** A chat completion of `request` whose answer is `content`, with `usage` when given. */
export function completionReply(
  request: RecordedRequest,
  content: string,
  usage?: unknown,
): ServerReply {
  return {
    status: 200,
    body: {
      id: "chatcmpl-1",
      object: "chat.completion",
      created: 1,
      model: request.body.model,
      choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
      ...(usage === undefined ? {} : { usage }),
    },
  };
}
