import { defineConfig } from "vite";

// No React plugin: Vite's own transform (oxc) compiles the TSX with React's automatic runtime.
// The page talks to the LangGraph dev server directly (it allows any origin), so Vite only
// serves or builds static files.
export default defineConfig({
  oxc: { jsx: { runtime: "automatic" } },
  build: {
    // The SDK's React entry starts with "use client", which only matters to server components.
    rolldownOptions: { checks: { moduleLevelDirective: false } },
    // The SDK brings @langchain/core's message classes: about 700 kB (200 kB gzipped) in all.
    chunkSizeWarningLimit: 1024,
  },
  server: { host: "127.0.0.1" },
  preview: { host: "127.0.0.1" },
});
