import { AIMessage, HumanMessage, type BaseMessage } from "@langchain/core/messages";
import { MemorySaver } from "@langchain/langgraph";
import { z } from "zod";
import { InvalidInputError } from "../../src/errors.js";
import { buildGraph } from "../../src/graph/graph.js";
import { createOrchestratorWorkers } from "../../src/graph/orchestrator-workers.js";
import { ScriptedChatModel } from "../../src/testing/index.js";
import { headings } from "../helpers/report.js";

const plan = {
  sections: [
    { name: "Moon", description: "The Moon's pull.", dependsOn: [] },
    { name: "Sun", description: "The Sun's pull.", dependsOn: [] },
  ],
};

type Chat = { messages: BaseMessage[]; report: string; plan?: { topic: string } };

const kinds = (messages: BaseMessage[]) => messages.map((message) => message.type);
const texts = (messages: BaseMessage[]) => messages.map((message) => message.content);

describe("chat messages in and out (what Studio's chat, agent-chat-ui and useStream send)", () => {
  test("a human message is the topic; the run ends with one AI message holding the report; a follow-up is a new request on the thread and earlier messages stay", async () => {
    const model = new ScriptedChatModel({ planAnswer: plan });
    const graph = buildGraph({ model, checkpointer: new MemorySaver() });
    const config = { configurable: { thread_id: "chat" } };

    const first = (await graph.invoke(
      { messages: [{ type: "human", content: "How tides work" }] },
      config,
    )) as unknown as Chat;
    expect(kinds(first.messages)).toEqual(["human", "ai"]);
    expect(first.messages[1]).toBeInstanceOf(AIMessage);
    expect(first.messages[1]!.content).toBe(first.report);
    expect(headings(first.report)).toEqual(["Moon", "Sun"]);
    expect(first.report.split("\n")[0]).toBe("# How tides work");
    expect(first.plan?.topic).toBe("How tides work");
    expect(model.planCalls).toHaveLength(1);

    const second = (await graph.invoke(
      { messages: [new HumanMessage("Why the sky is blue")] },
      config,
    )) as unknown as Chat;
    expect(kinds(second.messages)).toEqual(["human", "ai", "human", "ai"]);
    expect(texts(second.messages).slice(0, 2)).toEqual(texts(first.messages));
    expect(second.report.split("\n")[0]).toBe("# Why the sky is blue");
    expect(second.messages[3]!.content).toBe(second.report);
    expect(model.planCalls).toHaveLength(2);
  });

  test("a run from a topic records it as a human message; the same request again on the thread is not planned or written twice", async () => {
    const model = new ScriptedChatModel({ planAnswer: plan });
    const graph = buildGraph({ model, checkpointer: new MemorySaver() });
    const config = { configurable: { thread_id: "topic" } };
    const first = (await graph.invoke({ topic: "Tides" }, config)) as unknown as Chat;
    expect(kinds(first.messages)).toEqual(["human", "ai"]);
    expect(first.messages[0]!.content).toBe("Tides");
    const writes = model.writeCalls.length;

    const again = (await graph.invoke({ topic: "Tides" }, config)) as unknown as Chat;
    // No second human message (the chat already asks it), one more answer, nothing paid again.
    expect(kinds(again.messages)).toEqual(["human", "ai", "ai"]);
    expect(model.planCalls).toHaveLength(1);
    expect(model.writeCalls.length).toBe(writes);
    expect(again.messages[2]!.content).toBe(again.report);
  });

  test("a human message a stopped run already took is not taken again: a later topic is the request", async () => {
    const model = new ScriptedChatModel({ planAnswer: plan });
    const graph = buildGraph({ model, checkpointer: new MemorySaver() });
    const thread = { thread_id: "stopped" };
    // The run stops at plan review, before any answer: the chat's last message is still human.
    const paused = (await graph.invoke(
      { messages: [{ type: "human", content: "Tides" }] },
      {
        configurable: { ...thread, reviewPlan: true },
      },
    )) as unknown as Chat & { __interrupt__?: unknown[] };
    expect(paused.__interrupt__).toHaveLength(1);
    expect(kinds(paused.messages)).toEqual(["human"]);

    const next = (await graph.invoke(
      { topic: "Volcanoes" },
      { configurable: thread },
    )) as unknown as Chat;
    expect(next.plan?.topic).toBe("Volcanoes");
    expect(kinds(next.messages)).toEqual(["human", "human", "ai"]);
    expect(texts(next.messages).slice(0, 2)).toEqual(["Tides", "Volcanoes"]);
    expect(next.report.split("\n")[0]).toBe("# Volcanoes");
  });

  test("a message's text parts are the request; no topic and no human message is refused before any model call", async () => {
    const model = new ScriptedChatModel({ planAnswer: plan });
    const graph = buildGraph({ model });
    const out = (await graph.invoke({
      messages: [
        {
          type: "human",
          content: [
            { type: "text", text: "How tides work" },
            { type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } },
          ],
        },
      ],
    })) as unknown as Chat;
    expect(out.plan?.topic).toBe("How tides work");

    const calls = model.calls.length;
    await expect(graph.invoke({})).rejects.toThrow(InvalidInputError);
    await expect(graph.invoke({ messages: [{ type: "ai", content: "Hello" }] })).rejects.toThrow(
      /give topic, or a human message in messages/,
    );
    await expect(graph.invoke({ messages: [{ type: "human", content: "  " }] })).rejects.toThrow(
      /topic is empty/,
    );
    expect(model.calls.length).toBe(calls);
  });

  test("generic graphs: a human message is the request; the AI message holds a string output as it is, anything else as JSON", async () => {
    const subtask = z.object({ path: z.string(), change: z.string() });
    const planner = () => [
      { path: "a.ts", change: "rename" },
      { path: "b.ts", change: "rename" },
    ];
    const worker = ({ subtask: { path } }: { subtask: { path: string } }) => `changed ${path}`;
    const asText = createOrchestratorWorkers({
      subtask,
      planner,
      worker,
      synthesize: ({ results }) => results.map((entry) => entry.result).join("\n"),
    }).compile();
    const text = (await asText.invoke({
      messages: [{ type: "human", content: "Rename foo to bar" }],
    })) as unknown as { messages: BaseMessage[]; output: string };
    expect(kinds(text.messages)).toEqual(["human", "ai"]);
    expect(text.messages[0]!.content).toBe("Rename foo to bar");
    expect(text.messages[1]!.content).toBe("changed a.ts\nchanged b.ts");

    const asList = createOrchestratorWorkers({ subtask, planner, worker }).compile();
    const list = (await asList.invoke({ request: "Rename foo to bar" })) as unknown as {
      messages: BaseMessage[];
    };
    expect(kinds(list.messages)).toEqual(["human", "ai"]);
    expect(list.messages[1]!.content).toBe(
      '```json\n[\n  "changed a.ts",\n  "changed b.ts"\n]\n```',
    );
  });

  test("the planner's structured answer is tagged nostream, so the messages stream carries section text only", async () => {
    const model = new ScriptedChatModel({ planAnswer: plan });
    const graph = buildGraph({ model });
    const streamed: { node?: string; tags?: string[]; text: string }[] = [];
    for await (const [chunk, metadata] of (await graph.stream(
      { messages: [{ type: "human", content: "Tides" }] },
      { streamMode: "messages" },
    )) as AsyncIterable<[BaseMessage, { langgraph_node?: string; tags?: string[] }]>) {
      streamed.push({
        node: metadata.langgraph_node,
        tags: metadata.tags,
        text: typeof chunk.content === "string" ? chunk.content : "",
      });
    }
    expect(model.planCalls).toHaveLength(1);
    expect(streamed.filter((entry) => entry.node === "orchestrator")).toEqual([]);
    // Each token names its section in its tags, so a client can fill each section in as it comes.
    const bySection = new Map<string, string>();
    for (const entry of streamed.filter((item) => item.node === "worker")) {
      expect(entry.tags).toEqual(expect.arrayContaining(["writer"]));
      const section = entry.tags?.find((tag) => tag.startsWith("section:"));
      expect(section).toBeDefined();
      bySection.set(section!, (bySection.get(section!) ?? "") + entry.text);
    }
    expect(Object.fromEntries(bySection)).toEqual({
      "section:s1": "Body of Moon.",
      "section:s2": "Body of Sun.",
    });
  });
});
