import { RunnableLambda } from "@langchain/core/runnables";
import { getContextVariable, setContextVariable } from "@langchain/core/context";
import { getCurrentRunTree } from "langsmith/singletons/traceable";
import { isRunTree } from "langsmith/run_trees";
import { getConfig } from "@langchain/langgraph";

/**
 * patches/@langchain+core+1.4.0.patch, second part (bench/NOTES.md §3): with tracing off, LangChain
 * built a LangSmith `RunTree` (a UUID from the crypto RNG, environment reads, dates) for every
 * runnable call, only to carry the call's config and a "not traced" flag: 7 per section, a third
 * of a zero-latency section's cost. Patched, a plain object carries both when tracing is off
 * (no LangSmith variable set); with tracing on, nothing changes (the tracing suites).
 */
describe("the @langchain/core untraced run-tree patch", () => {
  const tracingVariables = [
    "LANGSMITH_TRACING",
    "LANGSMITH_TRACING_V2",
    "LANGCHAIN_TRACING",
    "LANGCHAIN_TRACING_V2",
  ];
  const saved = Object.fromEntries(tracingVariables.map((name) => [name, process.env[name]]));
  afterEach(() => {
    for (const name of tracingVariables) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });

  const inside = () =>
    RunnableLambda.from(() => {
      const store = getCurrentRunTree(true) as unknown as Record<string, unknown>;
      const before = getConfig()?.configurable?.marker;
      setContextVariable("probe", 1);
      return {
        runTree: isRunTree(store),
        tracingEnabled: store?.tracingEnabled,
        before,
        after: getConfig()?.configurable?.marker,
        variable: getContextVariable("probe"),
      };
    }).invoke(undefined, { configurable: { marker: "m" } });

  test("with tracing off, a call gets no RunTree, and keeps its config and the not-traced flag", async () => {
    for (const name of tracingVariables) delete process.env[name];
    // Unpatched: runTree is true (a RunTree built for the call).
    expect(await inside()).toEqual({
      runTree: false,
      tracingEnabled: false,
      before: "m",
      after: "m",
      variable: 1,
    });
  });
});
