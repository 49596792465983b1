import type { IncomingMessage } from "node:http";

/**
 * The test process's environment without the variables that change how this project runs (model
 * server, tracing, database, working directory), so a child process starts from a known state.
 */
export function cleanEnvironment(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      (entry): entry is [string, string] =>
        entry[1] !== undefined &&
        !/^(OPENAI_|LANGSMITH_|LANGCHAIN_|POSTGRES_URL$|DATABASE_URL$|INIT_CWD$)/.test(entry[0]),
    ),
  );
}

/** An HTTP request's body as text. */
export function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}
