/**
 * The model fetch against local servers that answer what no model server should: redirects to
 * another origin, a gzip bomb, an HTML page, an event stream to a single-answer request, an error
 * sent with status 200 (issue 23).
 */
import { gzipSync } from "node:zlib";
import { shortMessage } from "../../src/errors.js";
import {
  createModelFetch,
  ModelAnswerError,
  type ModelFetchOptions,
} from "../../src/models/model-fetch.js";
import { AdaptiveConcurrencyLimiter } from "../../src/models/adaptive-concurrency.js";
import { startRawServer, type RawHandler } from "../helpers/raw-server.js";

const COMPLETION = JSON.stringify({
  id: "c1",
  object: "chat.completion",
  created: 1,
  model: "m",
  choices: [{ index: 0, message: { role: "assistant", content: "Hi." }, finish_reason: "stop" }],
});
const BODY = JSON.stringify({
  model: "m",
  messages: [{ role: "user", content: "A secret prompt" }],
});

const post = (modelFetch: typeof fetch, url: string, body = BODY) =>
  modelFetch(url, { method: "POST", body, headers: { "content-type": "application/json" } });

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error as Error,
  );

const servers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});
async function started(handler: RawHandler) {
  const server = await startRawServer(handler);
  servers.push(server);
  return server;
}

describe.each([
  ["without a limiter", (options: ModelFetchOptions = {}) => createModelFetch(options)],
  [
    "with a limiter",
    (options: ModelFetchOptions = {}) =>
      createModelFetch({
        ...options,
        limiter: new AdaptiveConcurrencyLimiter({ maxConcurrency: 2 }),
      }),
  ],
])("the model fetch %s", (_label, makeFetch) => {
  test.each([301, 302, 303, 307, 308])(
    "never follows a %d to another origin, and says so in one line naming both",
    async (status) => {
      const other = await started((_request, response) => response.end(COMPLETION));
      const first = await started((_request, response) => {
        response.writeHead(status, { location: `${other.origin}/v1/chat/completions?key=k` });
        response.end("moved");
      });
      const error = await failure(post(makeFetch(), `${first.origin}/v1/chat/completions`));
      expect(ModelAnswerError.isInstance(error)).toBe(true);
      expect(error!.message).toBe(
        `The model server at ${first.origin} answered ${status}, a redirect to ${other.origin}: a model request is never sent on to another origin (it carries the prompt and the API key); set the base URL to the server that answers.`,
      );
      expect(error!.message).not.toContain("key=k");
      expect(other.received()).toBe(0);
      expect(first.received()).toBe(1);
    },
  );

  test("follows a same-origin 307 with the same method and body, and refuses a same-origin 302", async () => {
    const bodies: string[] = [];
    const server = await started((request, response) => {
      if (request.url === "/v1/chat/completions") {
        response.writeHead(307, { location: "/v2/chat/completions" });
        response.end();
      } else if (request.url === "/v2/chat/completions") {
        response.writeHead(200, { "content-type": "application/json" });
        response.end(COMPLETION);
      } else {
        response.writeHead(302, { location: "/v2/chat/completions" });
        response.end();
      }
      bodies.push(`${request.method} ${request.url}`);
    });
    const answer = await post(makeFetch(), `${server.origin}/v1/chat/completions`);
    expect(await answer.json()).toEqual(JSON.parse(COMPLETION));
    expect(bodies).toEqual(["POST /v1/chat/completions", "POST /v2/chat/completions"]);
    const error = await failure(post(makeFetch(), `${server.origin}/old/chat/completions`));
    expect(error!.message).toBe(
      `The model server at ${server.origin} answered 302, a redirect to /v2/chat/completions: followed, it would become a GET without the prompt; set the base URL to where it points.`,
    );
  });

  test("stops reading a gzip bomb once the decoded answer passes the bound, and says so", async () => {
    // 1 MiB of zeros gzips to about 1 KiB; concatenated gzip members decode to their concatenation.
    const member = gzipSync(Buffer.alloc(1024 * 1024));
    const members = 65_536; // 64 GiB decoded from about 64 MiB on the wire
    let written = 0;
    const bomb = await started((_request, response) => {
      response.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip" });
      // One member at a time, the next once the last is handed to the socket: `written` is what
      // the client (and the sockets' buffers) took.
      const write = () => {
        if (written >= members || response.destroyed) return void response.end();
        written += 1;
        response.write(member, (error) => {
          if (!error) write();
        });
      };
      write();
    });
    const limit = 8 * 1024 * 1024;
    const modelFetch = makeFetch({ maxAnswerBytes: limit });
    const error = await failure(
      post(modelFetch, `${bomb.origin}/v1/chat/completions`).then((response) => response.json()),
    );
    expect(ModelAnswerError.isInstance(error)).toBe(true);
    expect(error!.message).toBe(
      `The model server at ${bomb.origin} sent an answer larger than 8 MiB after decompression (content-encoding gzip): reading stopped there.`,
    );
    // The client stopped reading (and inflating) at the bound: of 64 MiB on the wire it took what
    // the sockets buffer (a few MiB) and no more.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(written).toBeLessThan(members / 4);
  });

  test("a streamed answer is bounded as it is read", async () => {
    const server = await started((_request, response) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      const line = `data: ${JSON.stringify({ choices: [{ delta: { content: "x".repeat(1000) } }] })}\n\n`;
      let sent = 0;
      const write = () => {
        while (sent < 10_000) {
          sent += 1;
          if (!response.write(line)) return void response.once("drain", write);
        }
        response.end();
      };
      write();
    });
    const modelFetch = makeFetch({ maxAnswerBytes: 64 * 1024 });
    const response = await post(
      modelFetch,
      `${server.origin}/v1/chat/completions`,
      '{"stream":true}',
    );
    const error = await failure(response.text());
    expect(error!.message).toBe(
      `The model server at ${server.origin} sent an answer larger than 64 KiB: reading stopped there.`,
    );
  });

  test.each<[string, Record<string, string>, string, string]>([
    [
      "an HTML page with 200",
      { "content-type": "text/html; charset=utf-8" },
      "<!DOCTYPE html><html><head><title>Sign in to Wi-Fi</title></head><body>...</body></html>",
      'answered 200 with an HTML page titled "Sign in to Wi-Fi", not a completion: is the base URL the API\'s (often ending in /v1), not a web page or a login portal?',
    ],
    [
      "an HTML page sent as JSON",
      { "content-type": "application/json" },
      "<html><body>Bad gateway</body></html>",
      "answered 200 with an HTML page, not a completion: is the base URL the API's (often ending in /v1), not a web page or a login portal?",
    ],
    [
      "an event stream to a single-answer request",
      { "content-type": "text/event-stream" },
      'data: {"choices":[{"delta":{"content":"Hi"}}]}\n\ndata: [DONE]\n\n',
      'answered 200 with an event stream (text/event-stream) to a request that asked for a single answer: the server ignores "stream": false, or a proxy in front of it streams.',
    ],
    [
      "an event stream labelled as JSON",
      { "content-type": "application/json" },
      'data: {"choices":[{"delta":{"content":"Hi"}}]}\n\n',
      'answered 200 with an event stream to a request that asked for a single answer: the server ignores "stream": false.',
    ],
    [
      "an error with status 200, the key redacted",
      { "content-type": "application/json" },
      JSON.stringify({ error: { message: "Invalid key sk-SECRET-123 for model m", code: 401 } }),
      'answered 200 with an error instead of a completion: "Invalid key [redacted] for model m".',
    ],
    [
      "a string error with status 200",
      { "content-type": "application/json" },
      JSON.stringify({ error: "model 'm' not found" }),
      `answered 200 with an error instead of a completion: "model 'm' not found".`,
    ],
  ])("names %s instead of reporting no choices", async (_what, headers, body, says) => {
    const server = await started((_request, response) => {
      response.writeHead(200, headers);
      response.end(body);
    });
    const answer = await post(
      makeFetch({ secrets: ["sk-SECRET-123"] }),
      `${server.origin}/v1/chat/completions`,
    );
    // The answer arrived: its body, as the client reads it, is what fails.
    expect(answer.status).toBe(200);
    const error = await failure(answer.text());
    expect(ModelAnswerError.isInstance(error)).toBe(true);
    expect(error!.message).toBe(`The model server at ${server.origin} ${says}`);
    expect(shortMessage(new Error("Connection error.", { cause: error }))).toBe(
      `ModelAnswerError: The model server at ${server.origin} ${says}`,
    );
  });

  test("a completion, and an answer that only mentions an error, pass through unchanged", async () => {
    const mentions = JSON.stringify({ ...JSON.parse(COMPLETION), error: null });
    const server = await started((request, response) => {
      response.writeHead(200, { "content-type": "application/json" });
      response.end(request.url === "/a" ? COMPLETION : mentions);
    });
    expect(await (await post(makeFetch(), `${server.origin}/a`)).text()).toBe(COMPLETION);
    expect(await (await post(makeFetch(), `${server.origin}/b`)).text()).toBe(mentions);
  });
});
