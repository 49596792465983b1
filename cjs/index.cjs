"use strict";
// orchestrator-workers is published as ES modules only: this is what `require()` finds instead.
throw new Error(
  'orchestrator-workers is an ES module package: use `import { buildGraph } from "orchestrator-workers"`, ' +
    'or `const { buildGraph } = await import("orchestrator-workers")` from CommonJS.',
);
