import { z } from "zod";

/** Tokens of one or more model calls. */
export const UsageSchema = z.object({
  input: z.number().describe("Input (prompt) tokens."),
  output: z.number().describe("Output (completion) tokens."),
  total: z.number().describe("Input plus output tokens."),
  unreported: z
    .literal(true)
    .optional()
    .describe("Set when a call's server reported no usage: the counts then leave it out."),
});

/** Token usage of a run: the planner's, each section's, the total, and the estimated cost. */
export const UsageLedgerSchema = z.object({
  planner: UsageSchema.describe("Tokens of the planner's calls (all attempts and revisions)."),
  sections: z
    .record(z.string(), UsageSchema)
    .describe(
      "Tokens of each section's calls (its writer's, and its verifier's and reviewer's), by section id.",
    ),
  aggregator: UsageSchema.optional().describe("Tokens of the aggregator's call (synthesis: llm)."),
  verifier: UsageSchema.optional().describe(
    "Tokens of the citation verifier's calls (verifyCitations: llm); also in their sections'.",
  ),
  reviewer: UsageSchema.optional().describe(
    "Tokens of the section reviewer's calls (sectionReview); also in their sections'.",
  ),
  total: UsageSchema.describe("Tokens of every model call of the run."),
  estimatedCostUsd: z
    .number()
    .nullable()
    .describe("Estimated cost in US dollars from the price table; null when a model has no price."),
  unpricedModels: z
    .array(z.string())
    .describe("Models used that the price table has no price for."),
  unreportedModels: z
    .array(z.string())
    .describe(
      "Models whose server reported no token usage for some calls: the totals leave those out.",
    ),
});

/** Price of a model, in US dollars per million tokens. */
export const ModelPriceSchema = z.object({
  inputPerMillion: z.number().min(0).describe("US dollars per million input tokens."),
  outputPerMillion: z.number().min(0).describe("US dollars per million output tokens."),
});

/**
 * Default price table (US dollars per million tokens, list prices when this table was written;
 * override `prices` in the configuration for yours).
 */
export const DEFAULT_PRICES: Record<string, z.infer<typeof ModelPriceSchema>> = {
  "gpt-4.1": { inputPerMillion: 2, outputPerMillion: 8 },
  "gpt-4.1-mini": { inputPerMillion: 0.4, outputPerMillion: 1.6 },
  "gpt-4.1-nano": { inputPerMillion: 0.1, outputPerMillion: 0.4 },
  "gpt-4o": { inputPerMillion: 2.5, outputPerMillion: 10 },
  "gpt-4o-mini": { inputPerMillion: 0.15, outputPerMillion: 0.6 },
  "offline-placeholder": { inputPerMillion: 0, outputPerMillion: 0 },
};

/** One model call of a run, as the node that made it records it: who asked, which model, what it cost. */
export const ModelCallSchema = UsageSchema.extend({
  role: z
    .enum(["planner", "writer", "aggregator", "verifier", "reviewer", "worker"])
    .describe("The part of the graph that made the call."),
  model: z.string().describe("The model that answered."),
  sectionId: z
    .string()
    .optional()
    .describe("The section a writer's (or the verifier's or reviewer's) call was for."),
});

export type Usage = z.infer<typeof UsageSchema>;
export type ModelCall = z.infer<typeof ModelCallSchema>;
export type UsageLedger = z.infer<typeof UsageLedgerSchema>;
export type ModelPrice = z.infer<typeof ModelPriceSchema>;

/** No tokens. */
export const NO_USAGE: Usage = { input: 0, output: 0, total: 0 };

/** Adds usages. */
export function addUsage(...usages: (Usage | undefined)[]): Usage {
  return usages.reduce<Usage>(
    (sum, usage) => ({
      input: sum.input + (usage?.input ?? 0),
      output: sum.output + (usage?.output ?? 0),
      total: sum.total + (usage?.total ?? 0),
      ...(sum.unreported || usage?.unreported ? { unreported: true as const } : {}),
    }),
    NO_USAGE,
  );
}

/**
 * A model message's usage metadata as a `Usage`: zeros marked `unreported` when the server
 * reported none (or no answer arrived whole), so the ledger never claims a call cost nothing.
 */
export function usageOf(
  message:
    | { usage_metadata?: { input_tokens?: number; output_tokens?: number; total_tokens?: number } }
    | undefined,
): Usage {
  const metadata = message?.usage_metadata;
  const unreported = { input: 0, output: 0, total: 0, unreported: true as const };
  // Some clients fill in zeros when the server sent no usage; a real call always has input tokens.
  if (!metadata || (!metadata.input_tokens && !metadata.total_tokens)) return unreported;
  // A count a server made up (NaN, a string, a negative or astronomical number) is not a count.
  const count = (value: unknown) =>
    value === undefined || (typeof value === "number" && Number.isSafeInteger(value) && value >= 0);
  if (![metadata.input_tokens, metadata.output_tokens, metadata.total_tokens].every(count)) {
    return unreported;
  }
  const input = metadata.input_tokens ?? 0;
  const output = metadata.output_tokens ?? 0;
  return { input, output, total: metadata.total_tokens ?? input + output };
}

/** Estimated cost of `usage` on `model`, or undefined when the table has no price for it. */
export function costOf(
  usage: Usage,
  model: string,
  prices: Record<string, ModelPrice>,
): number | undefined {
  const price = prices[model];
  if (!price) return undefined;
  return (usage.input * price.inputPerMillion + usage.output * price.outputPerMillion) / 1_000_000;
}

/**
 * The run's token usage, derived from its recorded model calls: the planner's, each section's (its
 * writer's, verifier's and reviewer's calls, failed attempts included), the aggregator's, the
 * verifier's and reviewer's in all, the total, and the cost priced
 * from `prices` (null, with the models named, when one has no price).
 */
export function usageLedger(calls: ModelCall[], prices: Record<string, ModelPrice>): UsageLedger {
  const sections: Record<string, Usage> = {};
  for (const call of calls) {
    if (call.sectionId !== undefined) {
      sections[call.sectionId] = addUsage(sections[call.sectionId], call);
    }
  }
  const ofRole = (role: ModelCall["role"]) => calls.filter((call) => call.role === role);
  const aggregatorCalls = ofRole("aggregator");
  const verifierCalls = ofRole("verifier");
  const reviewerCalls = ofRole("reviewer");
  let cost: number | null = 0;
  const unpriced = new Set<string>();
  for (const call of calls) {
    const callCost = costOf(call, call.model, prices);
    if (callCost === undefined) unpriced.add(call.model);
    else if (cost !== null) cost += callCost;
  }
  const unreported = [
    ...new Set(calls.filter((call) => call.unreported).map((call) => call.model)),
  ];
  if (unpriced.size > 0 || unreported.length > 0) cost = null;
  return {
    planner: addUsage(...calls.filter((call) => call.role === "planner")),
    sections,
    ...(aggregatorCalls.length ? { aggregator: addUsage(...aggregatorCalls) } : {}),
    ...(verifierCalls.length ? { verifier: addUsage(...verifierCalls) } : {}),
    ...(reviewerCalls.length ? { reviewer: addUsage(...reviewerCalls) } : {}),
    total: addUsage(...calls),
    estimatedCostUsd: cost,
    unpricedModels: [...unpriced],
    unreportedModels: unreported,
  };
}

/** One line for the end of the report: tokens used and the estimated cost. */
export function usageFooter(usage: UsageLedger): string {
  const count = (value: number) => value.toLocaleString("en-US");
  const unreported = usage.unreportedModels ?? [];
  const cost =
    usage.estimatedCostUsd !== null
      ? `estimated cost $${usage.estimatedCostUsd.toFixed(4)}`
      : usage.unpricedModels.length > 0
        ? `estimated cost unknown (no price for ${usage.unpricedModels.join(", ")})`
        : "estimated cost unknown";
  if (unreported.length > 0 && usage.total.total === 0) {
    return `_Tokens: usage not reported by the server (${unreported.join(", ")}); ${cost}._`;
  }
  const missing = unreported.length
    ? ` (usage not reported by the server for some calls of ${unreported.join(", ")}: not counted)`
    : "";
  return `_Tokens: ${count(usage.total.input)} in, ${count(usage.total.output)} out, ${count(usage.total.total)} in all${missing}; ${cost}._`;
}

/** Tokens of all the given calls. */
export function tokensUsed(calls: Usage[]): number {
  return calls.reduce((total, call) => total + call.total, 0);
}
