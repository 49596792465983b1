/**
 * Test doubles for graphs built on this package (`orchestrator-workers/testing`), the ones its own
 * tests and benchmarks use: a scripted chat model that records every call, a local
 * OpenAI-compatible server for the real `ChatOpenAI` client, and a local fake of Ollama's native
 * API for `ollama:` models (`ChatOllama` from @langchain/ollama).
 */
export {
  ScriptedChatModel,
  defaultPlan,
  sectionNameOf,
  type RecordedCall,
  type ScriptedChatModelOptions,
} from "./scripted-chat-model.js";
export {
  startOpenAIServer,
  type OpenAIServer,
  type OpenAIServerOptions,
  type RecordedRequest,
  type ServerPlanSection,
  type ServerQuirk,
  type ServerReply,
} from "./openai-server.js";
export { readBody } from "./http.js";
export {
  startOllamaServer,
  type OllamaChatBody,
  type OllamaReply,
  type OllamaRequest,
  type OllamaServer,
  type OllamaServerOptions,
} from "./ollama-server.js";
