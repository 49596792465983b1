import type { LangGraphRunnableConfig } from "@langchain/langgraph";
import { InvalidInputError } from "../errors.js";
import { ConfigurationSchema, type Configuration } from "../schemas/configuration.js";
import { PRESETS, type PresetName } from "../schemas/presets.js";

/**
 * Resolves a run's configuration, the one place that does: fields from `config.configurable`
 * (LangGraph Studio, the SDK, and `invoke(input, { configurable })`) overlaid with
 * `config.context`, over the chosen preset's settings, validated, and defaults filled in. Unknown keys such as `thread_id` are ignored.
 */
export function resolveConfiguration(config?: LangGraphRunnableConfig): Configuration {
  const given = {
    ...(config?.configurable ?? {}),
    ...((config?.context as Record<string, unknown> | undefined) ?? {}),
  };
  // A preset is a set of defaults: what the run sets explicitly wins.
  const preset = PRESETS[(given as { preset?: PresetName }).preset ?? "report"] ?? {};
  const result = ConfigurationSchema.safeParse({ ...preset, ...given });
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.map(String).join(".");
  throw new InvalidInputError({
    field,
    message: `Invalid configuration "${field}": ${issue.message}.`,
    cause: result.error,
  });
}
