import { toJsonSchema } from "@langchain/core/utils/json_schema";
import type { ZodType } from "zod";

/**
 * A zod schema as the JSON schema sent to a model for structured output: without `$schema` and
 * `default` keywords, which strict structured-output modes refuse. Giving the model JSON rather
 * than the zod object leaves parsing to LangChain's output parser, so with `includeRaw` an
 * unusable answer still comes back with its token usage. Validate the answer with the zod schema.
 */
export function structuredOutputSchema(schema: ZodType): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = withoutDefaults(toJsonSchema(schema)) as Record<
    string,
    unknown
  >;
  return rest;
}

function withoutDefaults(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withoutDefaults);
  if (typeof schema !== "object" || schema === null) return schema;
  return Object.fromEntries(
    Object.entries(schema)
      .filter(([key]) => key !== "default")
      .map(([key, value]) => [key, withoutDefaults(value)]),
  );
}
