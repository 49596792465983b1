/** `usageOf`, the one place a model call's usage is read, against numbers a server makes up. */
import { addUsage, tokensUsed, usageLedger, usageOf } from "../../src/schemas/usage.js";

const message = (usage: Record<string, unknown>) =>
  ({ usage_metadata: usage }) as unknown as Parameters<typeof usageOf>[0];

const UNREPORTED = { input: 0, output: 0, total: 0, unreported: true };

describe("usageOf", () => {
  test.each<[string, unknown]>([
    ["1e308", 1e308],
    ["Infinity", Infinity],
    ["NaN", NaN],
    ['the string "NaN"', "NaN"],
    ['the string "12"', "12"],
    ["a negative count", -5],
    ["a fraction", 1.5],
    ["over Number.MAX_SAFE_INTEGER", Number.MAX_SAFE_INTEGER + 2],
    ["null", null],
    ["an object", { value: 3 }],
  ])("a count of %s is not reported, never thrown", (_what, bad) => {
    for (const field of ["input_tokens", "output_tokens", "total_tokens"]) {
      const usage = { input_tokens: 10, output_tokens: 5, total_tokens: 15, [field]: bad };
      expect(usageOf(message(usage))).toEqual(UNREPORTED);
    }
  });

  test("real counts are kept, the total derived when missing", () => {
    expect(usageOf(message({ input_tokens: 10, output_tokens: 5, total_tokens: 15 }))).toEqual({
      input: 10,
      output: 5,
      total: 15,
    });
    expect(usageOf(message({ input_tokens: 10, output_tokens: 5 }))).toEqual({
      input: 10,
      output: 5,
      total: 15,
    });
  });

  test("a negative count cannot lower the tokens a budget counts, or make a negative cost", () => {
    const calls = [
      {
        role: "planner" as const,
        model: "gpt-4.1",
        ...usageOf(message({ input_tokens: 1000, output_tokens: 10, total_tokens: 1010 })),
      },
      {
        role: "writer" as const,
        model: "gpt-4.1",
        sectionId: "s1",
        ...usageOf(message({ input_tokens: -1e9, output_tokens: -1e9, total_tokens: -2e9 })),
      },
    ];
    expect(tokensUsed(calls)).toBe(1010);
    expect(addUsage(...calls).total).toBe(1010);
    const ledger = usageLedger(calls, { "gpt-4.1": { inputPerMillion: 2, outputPerMillion: 8 } });
    expect(ledger.estimatedCostUsd).toBeNull();
    expect(ledger.unreportedModels).toEqual(["gpt-4.1"]);
  });
});
