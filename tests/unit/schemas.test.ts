import { toJsonSchema } from "@langchain/core/utils/json_schema";
import { ReportInput, ReportOutput, ReportState, WorkerInput } from "../../src/schemas/state.js";
import { ConfigurationSchema } from "../../src/schemas/configuration.js";
import { PlanSchema } from "../../src/schemas/plan.js";

type Node = { properties?: Record<string, Node>; items?: Node; description?: string };

/** Paths of object properties, at any depth, that have no description. */
function undescribed(node: Node, path = ""): string[] {
  const missing: string[] = [];
  for (const [key, property] of Object.entries(node.properties ?? {})) {
    if (!property.description) missing.push(`${path}${key}`);
    missing.push(...undescribed(property, `${path}${key}.`));
  }
  if (node.items) missing.push(...undescribed(node.items, `${path}[].`));
  return missing;
}

describe("schemas shown in Studio", () => {
  test.each([
    ["state", ReportState],
    ["input", ReportInput],
    ["output", ReportOutput],
    ["worker input", WorkerInput],
    ["configuration", ConfigurationSchema],
    ["plan", PlanSchema],
  ])("every field of the %s schema has a description", (_name, schema) => {
    expect(undescribed(toJsonSchema(schema) as Node)).toEqual([]);
  });

  test("the configuration schema carries its defaults", () => {
    const schema = toJsonSchema(ConfigurationSchema) as {
      properties: Record<string, { default?: unknown }>;
    };
    // Fields whose absence means something: no budget, the server's output limit, no MCP
    // servers, and the verifier's and reviewer's model following the writers'.
    const absenceMeans = [
      "maxTotalTokens",
      "maxOutputTokens",
      "mcpServers",
      "verifierModel",
      "reviewerModel",
    ];
    for (const [key, property] of Object.entries(schema.properties)) {
      if (absenceMeans.includes(key)) continue;
      expect([key, property.default]).not.toEqual([key, undefined]);
    }
  });
});
