import { z } from "zod";
import { HumanMessage } from "@langchain/core/messages";
import { buildGraph } from "../../src/graph/graph.js";
import {
  OFFLINE_MODEL_NAME,
  OFFLINE_NOTICE,
  OfflineChatModel,
} from "../../src/models/offline-chat-model.js";
import { createChatModelProvider, usesOfflineModel } from "../../src/models/chat-models.js";
import { resolveConfiguration } from "../../src/schemas/configuration.js";
import { ChatOpenAI } from "@langchain/openai";

describe("offline model", () => {
  test("is deterministic and labels the report", async () => {
    const graph = buildGraph({ offline: true, onOfflineModel: () => undefined });
    const first = await graph.invoke({ topic: "How tides work" });
    const second = await graph.invoke({ topic: "How tides work" });
    expect(first.report).toBe(second.report);
    expect(first.report).toContain(OFFLINE_NOTICE);
    expect(first.plan!.sections.length).toBeGreaterThan(1);
    expect(first.completedSections.every((section) => section.model === OFFLINE_MODEL_NAME)).toBe(
      true,
    );
  });

  test("fills a structured-output schema and validates it", async () => {
    const model = new OfflineChatModel();
    const schema = z.object({
      title: z.string(),
      tags: z.array(z.string()).min(2),
      kind: z.enum(["a", "b"]),
      count: z.number().int().min(3),
    });
    const value: unknown = await model.withStructuredOutput(schema).invoke([new HumanMessage("x")]);
    expect(schema.parse(value)).toEqual(value);

    const impossible = z.object({ title: z.string().regex(/^\d+$/) });
    await expect(
      model.withStructuredOutput(impossible).invoke([new HumanMessage("x")]),
    ).rejects.toThrow(/does not match the schema/);
  });

  test("streams its text in several chunks", async () => {
    const chunks: string[] = [];
    for await (const chunk of await new OfflineChatModel().stream([
      new HumanMessage("<Report topic>\nT\n</Report topic>\n<Section name>\nS\n</Section name>"),
    ])) {
      chunks.push(chunk.text);
    }
    expect(chunks.length).toBeGreaterThan(5);
    expect(chunks.join("")).toContain('"S" section');
  });
});

describe("chat model provider", () => {
  const configuration = resolveConfiguration({});

  test("uses the offline model with no key and no base URL, and says so once", () => {
    const notices: string[] = [];
    const provider = createChatModelProvider({
      environment: { workingDirectory: "." },
      onOfflineModel: (notice) => notices.push(notice),
    });
    expect(provider({ role: "planner", configuration })).toBeInstanceOf(OfflineChatModel);
    expect(provider({ role: "writer", configuration })).toBeInstanceOf(OfflineChatModel);
    expect(notices).toEqual([OFFLINE_NOTICE]);
  });

  test("uses ChatOpenAI with a base URL alone, with explicit retries and timeout, one client per setting", () => {
    const environment = { openaiBaseUrl: "http://127.0.0.1:9/v1", workingDirectory: "." };
    expect(usesOfflineModel({ environment })).toBe(false);
    expect(usesOfflineModel({ environment, offline: true })).toBe(true);
    const provider = createChatModelProvider({ environment });
    const planner = provider({ role: "planner", configuration });
    expect(planner).toBeInstanceOf(ChatOpenAI);
    expect((planner as unknown as { caller: { maxRetries: number } }).caller.maxRetries).toBe(
      configuration.maxRetries,
    );
    // requestTimeoutMs is the fetch's, from when a request leaves the adaptive limiter's line
    // (tests/integration/rate-limits.test.ts); the SDK's timeout would count the wait in line.
    expect((planner as ChatOpenAI).timeout).toBeUndefined();
    expect(provider({ role: "writer", configuration })).toBe(planner);
    expect(
      provider({ role: "writer", configuration: { ...configuration, writerModel: "other" } }),
    ).not.toBe(planner);
  });
});
