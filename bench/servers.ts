/**
 * The benchmark's servers, each in a process of its own so that they do not share the measured
 * process's CPU: `model` (the local OpenAI-compatible server, with latency and an optional
 * concurrency limit or a tokens-per-minute limit) and `receiver` (the local LangSmith stand-in). Prints `{ "url": ... }` and
 * runs until killed.
 */
import { startOpenAIServer } from "../src/testing/index.js";
import { startLangSmithReceiver } from "../tests/helpers/langsmith-receiver.js";
import { defaultPlan } from "../src/testing/index.js";

const [kind, argument = "{}"] = process.argv.slice(2);
const options = JSON.parse(argument) as {
  latencyMs?: number;
  n?: number;
  limit?: number;
  tokensPerMinute?: number;
  windowMs?: number;
};

if (kind === "model") {
  const server = await startOpenAIServer({
    plan: defaultPlan(options.n ?? 10),
    latencyMs: options.latencyMs ?? 0,
    concurrencyLimit: options.limit,
    tokensPerMinute: options.tokensPerMinute,
    rateLimitWindowMs: options.windowMs,
  });
  console.log(JSON.stringify({ url: server.baseURL }));
} else if (kind === "receiver") {
  const receiver = await startLangSmithReceiver();
  console.log(JSON.stringify({ url: receiver.endpoint }));
} else {
  console.error("usage: servers.ts model|receiver [json options]");
  process.exit(2);
}
