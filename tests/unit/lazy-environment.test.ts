import { graph } from "../../src/graph/graph.js";
import { defaultPlan, startOpenAIServer } from "../../src/testing/index.js";

describe("importing the package has no side effects", () => {
  test("the compiled graph reads the environment when a run needs a model, not at import", async () => {
    // The graph module is imported above, before the environment names a model server.
    const server = await startOpenAIServer({ plan: defaultPlan(2) });
    const saved = { url: process.env.OPENAI_BASE_URL, key: process.env.OPENAI_API_KEY };
    process.env.OPENAI_BASE_URL = server.baseURL;
    process.env.OPENAI_API_KEY = "sk-set-after-import";
    try {
      const result = await graph.invoke({ topic: "Tides" });
      expect(server.planRequests()).toHaveLength(1);
      expect(server.sectionRequests()).toHaveLength(2);
      expect(result.report).not.toMatch(/offline/i);
    } finally {
      if (saved.url === undefined) delete process.env.OPENAI_BASE_URL;
      else process.env.OPENAI_BASE_URL = saved.url;
      if (saved.key === undefined) delete process.env.OPENAI_API_KEY;
      else process.env.OPENAI_API_KEY = saved.key;
      await server.close();
    }
  });
});
