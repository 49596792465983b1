/**
 * Test doubles for graphs built on this package (`orchestrator-workers/testing`), the ones its own
 * tests and benchmarks use: a scripted chat model that records every call, and a local
 * OpenAI-compatible server for the real `ChatOpenAI` client.
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
