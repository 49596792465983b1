import { Client } from "@langchain/langgraph-sdk";
import { startOpenAIServer, type OpenAIServer } from "../../src/testing/index.js";
import { defaultPlan } from "../../src/testing/index.js";
import { startDevServer, type DevServer } from "../helpers/dev-server.js";
import { headings } from "../helpers/report.js";

type JsonSchema = {
  type?: string;
  langgraph_type?: string;
  description?: string;
  default?: unknown;
  properties?: Record<string, JsonSchema>;
};

describe("the LangGraph dev server (Studio's backend) driven with @langchain/langgraph-sdk", () => {
  let models: OpenAIServer;
  let devServer: DevServer;
  let client: Client;
  let assistantId: string;

  beforeAll(async () => {
    models = await startOpenAIServer({ plan: defaultPlan(3) });
    devServer = await startDevServer({ OPENAI_BASE_URL: models.baseURL, OPENAI_API_KEY: "sk-dev" });
    client = new Client({ apiUrl: devServer.apiUrl });
    const [assistant] = await client.assistants.search({ graphId: "report" });
    assistantId = assistant!.assistant_id;
  }, 120_000);

  afterAll(async () => {
    await devServer?.close();
    await models?.close();
  });

  test("a streamed run shows the orchestrator, one event per worker and the synthesizer; the thread holds the report", async () => {
    const thread = await client.threads.create();
    const updates: string[] = [];
    const custom: { type: string; id?: string }[] = [];
    for await (const chunk of client.runs.stream(thread.thread_id, assistantId, {
      input: { topic: "How tides work" },
      streamMode: ["updates", "custom"],
    })) {
      if (chunk.event === "updates") updates.push(...Object.keys(chunk.data));
      if (chunk.event === "custom") custom.push(chunk.data as { type: string; id?: string });
      if (chunk.event === "error") throw new Error(JSON.stringify(chunk.data));
    }
    expect(updates.filter((node) => node === "orchestrator")).toHaveLength(1);
    expect(updates.filter((node) => node === "worker")).toHaveLength(3);
    expect(updates.filter((node) => node === "synthesizer")).toHaveLength(1);
    expect(custom.filter((event) => event.type === "plan_ready")).toHaveLength(1);
    expect(
      custom
        .filter((event) => event.type === "section_completed")
        .map((event) => event.id)
        .sort(),
    ).toEqual(["s1", "s2", "s3"]);

    const state = await client.threads.getState<{ report: string }>(thread.thread_id);
    expect(headings(state.values.report)).toEqual(["Part 1", "Part 2", "Part 3"]);
    expect(models.planRequests()).toHaveLength(1);
  }, 60_000);

  test("plan review through the SDK: interrupt with the plan, an invalid answer keeps the thread resumable, feedback re-plans, approval writes", async () => {
    const thread = await client.threads.create();
    const plansBefore = models.planRequests().length;
    const sectionsBefore = models.sectionRequests().length;
    const config = { configurable: { reviewPlan: true } };
    const runToEnd = async (payload: Record<string, unknown>) => {
      for await (const chunk of client.runs.stream(thread.thread_id, assistantId, {
        ...payload,
        config,
        streamMode: ["updates"],
      })) {
        if (chunk.event === "error") throw new Error(JSON.stringify(chunk.data));
      }
      const state = await client.threads.getState<{ report: string }>(thread.thread_id);
      const request = state.tasks.flatMap((task) => task.interrupts)[0]?.value as
        { plan: { id: string; name: string }[]; error?: string; revisionsLeft: number } | undefined;
      return { state, request };
    };

    const first = await runToEnd({ input: { topic: "Review me" } });
    expect(first.request?.plan.map((section) => section.name)).toEqual([
      "Part 1",
      "Part 2",
      "Part 3",
    ]);
    expect(models.sectionRequests().length).toBe(sectionsBefore);

    const invalid = await runToEnd({ command: { resume: { action: "publish" } } });
    expect(invalid.request?.error).toMatch(/cannot be used/);

    const revised = await runToEnd({
      command: { resume: { action: "feedback", feedback: "Shorter." } },
    });
    expect(revised.request?.revisionsLeft).toBe(2);
    expect(models.planRequests().length).toBe(plansBefore + 2);

    const approved = await runToEnd({ command: { resume: { action: "approve" } } });
    expect(approved.request).toBeUndefined();
    expect(headings(approved.state.values.report)).toEqual(["Part 1", "Part 2", "Part 3"]);
    expect(models.sectionRequests().length).toBe(sectionsBefore + 3);
  }, 60_000);

  test("a chat client's run: a human message starts it, an AI message holding every section ends it, a follow-up is answered on the same thread, and messages-tuple carries section text only", async () => {
    const thread = await client.threads.create();
    const plansBefore = models.planRequests().length;
    type Message = { type: string; content: unknown; id?: string };
    const chat = async (content: string) => {
      const tuples: { content: string; node?: string; tags: string[]; sectionId?: string }[] = [];
      for await (const chunk of client.runs.stream(thread.thread_id, assistantId, {
        input: { messages: [{ type: "human", content }] },
        streamMode: ["messages-tuple", "values"],
      })) {
        if (chunk.event === "error") throw new Error(JSON.stringify(chunk.data));
        if (chunk.event === "messages") {
          const [message, metadata] = chunk.data as [
            { content: unknown },
            { langgraph_node?: string; tags?: string[]; section_id?: string },
          ];
          tuples.push({
            content: typeof message.content === "string" ? message.content : "",
            node: metadata.langgraph_node,
            tags: metadata.tags ?? [],
            sectionId: metadata.section_id,
          });
        }
      }
      const state = await client.threads.getState<{ messages: Message[]; report: string }>(
        thread.thread_id,
      );
      return { tuples, messages: state.values.messages, report: state.values.report };
    };

    const first = await chat("How tides work");
    expect(first.messages.map((message) => message.type)).toEqual(["human", "ai"]);
    expect(first.messages[0]!.content).toBe("How tides work");
    const answer = first.messages[1]!.content as string;
    expect(answer).toBe(first.report);
    expect(headings(answer)).toEqual(["Part 1", "Part 2", "Part 3"]);
    expect(answer.split("\n")[0]).toBe("# How tides work");
    // The planner was asked (its answer is JSON), yet no streamed token came from it: every
    // streamed token is a section writer's, tagged with its section.
    expect(models.planRequests().length).toBe(plansBefore + 1);
    const streamed = first.tuples.filter((tuple) => tuple.content !== "");
    expect(streamed.length).toBeGreaterThan(0);
    for (const tuple of streamed) {
      expect(tuple.content).not.toMatch(/"sections"\s*:|"description"\s*:/);
      if (tuple.node === "worker") {
        expect(tuple.tags).toEqual(
          expect.arrayContaining(["writer", `section:${tuple.sectionId}`]),
        );
      }
    }
    expect(streamed.some((tuple) => tuple.node === "orchestrator")).toBe(false);
    expect(new Set(streamed.filter((t) => t.node === "worker").map((t) => t.sectionId))).toEqual(
      new Set(["s1", "s2", "s3"]),
    );

    const second = await chat("Why the sky is blue");
    expect(second.messages.map((message) => message.type)).toEqual(["human", "ai", "human", "ai"]);
    expect(second.messages[1]!.content).toBe(answer);
    expect((second.messages[3]!.content as string).split("\n")[0]).toBe("# Why the sky is blue");
    expect(models.planRequests().length).toBe(plansBefore + 2);
  }, 90_000);

  test("the input, output and configuration schemas have real types, descriptions and defaults", async () => {
    const schemas = await client.assistants.getSchemas(assistantId);
    const input = schemas.input_schema as JsonSchema;
    const output = schemas.output_schema as JsonSchema;
    const config = schemas.config_schema as JsonSchema;
    expect(input.properties?.topic).toMatchObject({
      type: "string",
      description: expect.any(String),
    });
    expect(input.properties?.sections?.description).toMatch(/ready-made plan/);
    // Studio's chat view and chat clients find the chat by this mark.
    expect(input.properties?.messages).toMatchObject({ langgraph_type: "messages" });
    expect((schemas.state_schema as JsonSchema).properties?.messages).toMatchObject({
      langgraph_type: "messages",
    });
    expect(output.properties?.report).toMatchObject({
      type: "string",
      description: expect.any(String),
    });
    expect(output.properties?.completedSections?.description).toEqual(expect.any(String));
    expect(config.properties?.maxSections).toMatchObject({
      type: "integer",
      default: 8,
      description: expect.stringMatching(/sections/),
    });
    for (const [field, property] of Object.entries(config.properties ?? {})) {
      // Optional: no budget, no output limit, no MCP servers unless set; the verifier's and the
      // reviewer's model follow the writers' unless set.
      const optional = [
        "maxTotalTokens",
        "maxOutputTokens",
        "mcpServers",
        "verifierModel",
        "reviewerModel",
      ];
      if (optional.includes(field)) continue;
      expect([field, typeof property.description, property.default === undefined]).toEqual([
        field,
        "string",
        false,
      ]);
    }
  });
});
