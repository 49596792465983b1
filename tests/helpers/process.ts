/**
 * The test process's environment without the variables that change how this project runs (model
 * server, tracing, database, working directory), so a child process starts from a known state.
 */
export function cleanEnvironment(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      (entry): entry is [string, string] =>
        entry[1] !== undefined &&
        !/^(OPENAI_|OLLAMA_|ANTHROPIC_|LANGSMITH_|LANGCHAIN_|POSTGRES_URL$|DATABASE_URL$|INIT_CWD$)/.test(
          entry[0],
        ),
    ),
  );
}

export { readBody } from "../../src/testing/http.js";
