import { createServer } from "node:net";
import {
  ModelServerUnreachableError,
  OrchestratorWorkersError,
  shortMessage,
} from "../../src/errors.js";
import { createModelFetch } from "../../src/models/model-fetch.js";

/** A port on 127.0.0.1 that nothing listens on: taken from the system, then given back. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as { port: number };
  await new Promise((done) => server.close(done));
  return port;
}

describe("a model request that gets no answer at all", () => {
  test("says which server, without credentials or path, and why", async () => {
    const port = await closedPort();
    const error = await createModelFetch()(`http://127.0.0.1:${port}/v1/chat/completions`, {
      method: "POST",
      body: "{}",
    }).catch((caught: unknown) => caught);
    expect(OrchestratorWorkersError.isInstance(error)).toBe(true);
    expect((error as Error).message).toBe(
      `The model server at http://127.0.0.1:${port} did not answer (ECONNREFUSED): is it running, and is its address right (OPENAI_BASE_URL, or the base URL of the model's provider)?`,
    );
  });

  test("a URL with a password does not show it", async () => {
    const error = await createModelFetch()("http://user:pw-SECRET@127.0.0.1:1/v1/x").catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ModelServerUnreachableError);
    expect((error as Error).message).not.toContain("pw-SECRET");
    expect((error as Error).message).toContain("http://127.0.0.1:1 did not answer");
  });

  test("an aborted request is still the abort, not an unreachable server", async () => {
    const port = await closedPort();
    const controller = new AbortController();
    controller.abort(new Error("stopped by the caller"));
    const error = await createModelFetch({ timeoutMs: 5_000 })(`http://127.0.0.1:${port}/v1`, {
      signal: controller.signal,
    }).catch((caught: unknown) => caught);
    expect(OrchestratorWorkersError.isInstance(error)).toBe(false);
  });

  test("shortMessage shows the package's error inside a library's wrapper", () => {
    const inner = new ModelServerUnreachableError({ origin: "http://h:1", reason: "ENOTFOUND" });
    const wrapper = new Error("Connection error.", { cause: inner });
    expect(shortMessage(wrapper, { withName: false })).toBe(inner.message);
    expect(shortMessage(new Error("plain"), { withName: false })).toBe("plain");
  });
});
