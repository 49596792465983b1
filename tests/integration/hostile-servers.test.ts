/**
 * The graph, through the real ChatOpenAI client and the model fetch, against servers that answer
 * what no model server should (issue 23): a redirect to another origin, a gzip bomb, an HTML page,
 * an event stream and an error sent with status 200. What came back is named in the run's result.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { shortMessage } from "../../src/errors.js";
import { buildGraph } from "../../src/graph/graph.js";
import type { ConfigurationInput } from "../../src/schemas/configuration.js";
import { defaultPlan, startOpenAIServer, type OpenAIServer } from "../../src/testing/index.js";
import { startRawServer } from "../helpers/raw-server.js";

describe("hostile model servers, end to end", () => {
  const closing: { close(): Promise<unknown> }[] = [];
  afterEach(async () => {
    await Promise.all(closing.splice(0).map((server) => server.close()));
  });

  function graphAt(baseURL: string) {
    return buildGraph({
      environment: { openaiApiKey: "sk-test", openaiBaseUrl: baseURL, workingDirectory: "." },
    });
  }

  test("a planner request redirected to another origin is never sent there, and the error names both origins", async () => {
    const other: OpenAIServer = await startOpenAIServer({ plan: defaultPlan(2) });
    closing.push(other);
    const first = await startRawServer(({ url = "" }, response) => {
      response.writeHead(302, { location: `${new URL(other.baseURL).origin}${url}` });
      response.end();
    });
    closing.push(first);
    const error = await graphAt(`${first.origin}/v1`)
      .invoke({ topic: "Tides" }, { configurable: { maxRetries: 1 } })
      .then(
        () => undefined,
        (caught: unknown) => caught as Error,
      );
    // The OpenAI SDK wraps it as "Connection error."; shortMessage shows the package's own error.
    expect(shortMessage(error)).toContain(
      `The model server at ${first.origin} answered 302, a redirect to ${new URL(other.baseURL).origin}: a model request is never sent on to another origin`,
    );
    expect(other.requests).toHaveLength(0);
    // A refused answer is not sent again (maxRetries 1 would allow a second request).
    expect(first.received()).toBe(1);
  }, 30_000);

  /** A run whose section requests get `reply` from a raw server in front of the plan server. */
  async function runWithSections(
    reply: (response: import("node:http").ServerResponse) => void,
    configurable: ConfigurationInput = {},
  ) {
    const planner = await startOpenAIServer({ plan: defaultPlan(1) });
    closing.push(planner);
    // Plans come from the plan server; the section's request gets `reply`.
    const server = createServer((request, response) => {
      let body = "";
      request.on("data", (chunk: Buffer) => (body += chunk.toString()));
      request.on("end", () => {
        if (body.includes("<Output schema") || body.includes('"json_schema"')) {
          void fetch(`${planner.baseURL}/chat/completions`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body,
          }).then(async (answer) => {
            response.writeHead(answer.status, { "content-type": "application/json" });
            response.end(await answer.text());
          });
        } else reply(response);
      });
    });
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    closing.push({
      close: () =>
        new Promise<void>((done) => {
          server.closeAllConnections();
          server.close(() => done());
        }),
    });
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const result = await graphAt(`${origin}/v1`).invoke(
      { topic: "Tides" },
      { configurable: { maxRetries: 0, ...configurable } },
    );
    return { origin, result };
  }

  test("a gzip bomb as a section's answer: the section fails, naming the bound, after 32 MiB", async () => {
    const member = gzipSync(Buffer.alloc(1024 * 1024));
    const { origin, result } = await runWithSections((response) => {
      response.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip" });
      let sent = 0;
      const write = () => {
        if (sent >= 1024 || response.destroyed) return void response.end();
        sent += 1;
        response.write(member, (error) => {
          if (!error) write();
        });
      };
      write();
    });
    expect(result.failedSections.map((section: { id: string }) => section.id)).toEqual(["s1"]);
    expect(result.failedSections[0]!.error).toContain(
      `The model server at ${origin} sent an answer larger than 32 MiB after decompression (content-encoding gzip): reading stopped there.`,
    );
  }, 30_000);

  test.each<[string, Record<string, string>, string, string]>([
    [
      "an HTML page",
      { "content-type": "text/html" },
      "<html><head><title>502 Bad Gateway</title></head></html>",
      'answered 200 with an HTML page titled "502 Bad Gateway", not a completion',
    ],
    [
      "an event stream",
      { "content-type": "text/event-stream" },
      'data: {"choices":[]}\n\n',
      "answered 200 with an event stream (text/event-stream) to a request that asked for a single answer",
    ],
    [
      "an error with status 200",
      { "content-type": "application/json" },
      JSON.stringify({ error: { message: "model overloaded" } }),
      'answered 200 with an error instead of a completion: "model overloaded"',
    ],
  ])(
    "%s as a section's answer: the section fails, saying what came back",
    async (_what, headers, body, says) => {
      const { origin, result } = await runWithSections((response) => {
        response.writeHead(200, headers);
        response.end(body);
      });
      expect(result.failedSections[0]!.error).toContain(`The model server at ${origin} ${says}`);
      expect(result.failedSections[0]!.error).not.toMatch(/no choices/);
    },
    30_000,
  );
});
