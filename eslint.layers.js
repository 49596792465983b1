/**
 * The layering rule: schemas → models and tools → nodes → graph → cli, testing and index. Each
 * layer may import only from the layers before it; no node imports another node; nothing under
 * src/ imports the tests. Kept apart so a test can check that the rule catches a violation.
 */
const up = {
  models: {
    group: ["**/models/*"],
    message: "Only nodes, the graph and the entry points may use models.",
  },
  tools: {
    group: ["**/tools/*"],
    message: "Only nodes, the graph and the entry points may use tools.",
  },
  nodes: { group: ["**/nodes/*"], message: "Only the graph and the entry points may use nodes." },
  graph: { group: ["**/graph/*"], message: "Only the CLI and the entry points may use the graph." },
  cli: { group: ["**/cli/*"], message: "Nothing imports the CLI." },
  testing: { group: ["**/testing/*"], message: "Nothing in src/ imports the test doubles." },
  index: { group: ["**/index.js"], message: "Import the module itself, not the public index." },
  tests: { group: ["**/tests/**"], message: "Nothing in src/ imports the tests." },
};

/** @param {Array<{ group: string[]; message: string }>} patterns */
const forbid = (patterns) => ({
  "no-restricted-imports": ["error", { patterns }],
});

export default [
  {
    files: ["src/schemas/**/*.ts", "src/errors.ts", "src/env.ts"],
    rules: forbid([
      up.models,
      up.tools,
      up.nodes,
      up.graph,
      up.cli,
      up.testing,
      up.index,
      up.tests,
    ]),
  },
  {
    files: ["src/models/**/*.ts"],
    rules: forbid([up.tools, up.nodes, up.graph, up.cli, up.testing, up.index, up.tests]),
  },
  {
    files: ["src/tools/**/*.ts"],
    rules: forbid([up.models, up.nodes, up.graph, up.cli, up.testing, up.index, up.tests]),
  },
  {
    files: ["src/nodes/**/*.ts"],
    rules: forbid([
      {
        group: ["./*"],
        message: "A node does not import another node: move what they share down.",
      },
      up.graph,
      up.cli,
      up.testing,
      up.index,
      up.tests,
    ]),
  },
  {
    files: ["src/graph/**/*.ts"],
    rules: forbid([up.cli, up.testing, up.index, up.tests]),
  },
  {
    files: ["src/cli/**/*.ts"],
    rules: forbid([up.testing, up.index, up.tests]),
  },
  {
    files: ["src/testing/**/*.ts"],
    rules: forbid([up.nodes, up.graph, up.cli, up.index, up.tests]),
  },
  {
    files: ["src/index.ts"],
    rules: forbid([up.cli, up.testing, up.tests]),
  },
];
