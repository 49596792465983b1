import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { HumanMessage, SystemMessage } from "@langchain/core/messages";
import {
  MAX_CHECKED_CLAIMS,
  MAX_VERIFIED_PASSAGE_CHARACTERS,
  VerificationSchema,
  type CitedClaim,
} from "../schemas/citations.js";
import type { StructuredOutputStrategy } from "../schemas/configuration.js";
import { verifierUserPrompt } from "../schemas/prompts.js";
import type { CitationCheckResult } from "../schemas/section.js";
import type { ModelCall } from "../schemas/usage.js";
import { askStructuredValue } from "./structured-output.js";

/**
 * Has the verifier model check cited sentences against their passages, in one structured call
 * (schema `verification`). Returns a result per claim checked, in claim order; a claim the
 * verifier gave no verdict for is left out (unchecked, not counted). Its calls are appended to
 * `calls`, paid even when the answer is unusable, which throws.
 */
export async function verifyClaims(options: {
  model: BaseChatModel;
  topic: string;
  claims: (CitedClaim & { passage: string })[];
  systemPrompt: string;
  strategy: StructuredOutputStrategy;
  sectionId: string;
  callOptions: { tags?: string[]; metadata?: Record<string, unknown> };
  calls: ModelCall[];
}): Promise<CitationCheckResult[]> {
  const claims = options.claims.slice(0, MAX_CHECKED_CLAIMS).map((claim) => ({
    ...claim,
    passage: claim.passage.slice(0, MAX_VERIFIED_PASSAGE_CHARACTERS),
  }));
  if (claims.length === 0) return [];
  const verification = await askStructuredValue({
    model: options.model,
    schema: VerificationSchema,
    name: "verification",
    messages: [
      new SystemMessage(options.systemPrompt),
      new HumanMessage(verifierUserPrompt({ topic: options.topic, claims })),
    ],
    callOptions: options.callOptions,
    strategy: options.strategy,
    calls: options.calls,
    record: { role: "verifier", sectionId: options.sectionId },
    what: "a valid verification",
    errorName: "VerificationError",
  });
  const verdicts = new Map(verification.verdicts.map((verdict) => [verdict.claim, verdict]));
  return claims.flatMap((claim, index) => {
    const verdict = verdicts.get(index + 1);
    return verdict
      ? [
          {
            sentence: claim.sentence,
            key: claim.key,
            supported: verdict.supported,
            reason: verdict.reason.trim().split("\n")[0] ?? "",
          },
        ]
      : [];
  });
}
