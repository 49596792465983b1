/** Jest runs the TypeScript sources as native ES modules through ts-jest (type checking is `npm run typecheck`). */
export default {
  testEnvironment: "node",
  extensionsToTreatAsEsm: [".ts"],
  moduleNameMapper: { "^(\\.{1,2}/.*)\\.js$": "$1" },
  transform: {
    "^.+\\.ts$": ["ts-jest", { useESM: true, diagnostics: false }],
  },
  testMatch: ["<rootDir>/tests/**/*.test.ts"],
  testTimeout: 30000,
  globalSetup: "<rootDir>/tests/helpers/global-setup.js",
  globalTeardown: "<rootDir>/tests/helpers/global-teardown.js",
  // Most tests wait on servers and child processes rather than compute: overlap them.
  maxWorkers: 3,
  reporters: ["default", "<rootDir>/tests/helpers/summary-reporter.js"],
};
