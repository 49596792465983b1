/**
 * What the evaluation reads of a run's output, read tolerantly: fields the graph adds over time
 * (consulted sources, section warnings, review records, the reviewer's usage) are optional, and
 * a field of an unexpected shape reads as absent rather than failing the evaluation.
 */
import { z } from "zod";

const SourceView = z.object({ key: z.string(), title: z.string(), location: z.string() });
const UsageView = z.object({ input: z.number(), output: z.number(), total: z.number() });

const SectionView = z.object({
  id: z.string(),
  name: z.string(),
  content: z.string(),
  model: z.string().optional(),
  sources: z.array(SourceView).optional().catch(undefined),
  consulted: z.array(SourceView).optional().catch(undefined),
  warnings: z.array(z.string()).optional().catch(undefined),
  citations: z
    .object({
      cited: z.number(),
      supported: z.number().optional(),
      fabricated: z.array(z.string()).optional(),
    })
    .optional()
    .catch(undefined),
  review: z
    .object({
      passed: z.boolean(),
      revisions: z.number(),
      feedback: z.string().optional(),
    })
    .optional()
    .catch(undefined),
  steps: z.number().optional().catch(undefined),
  hitStepLimit: z.boolean().optional().catch(undefined),
});

/** The parts of a run's output the evaluation scores. */
export const RunView = z.object({
  report: z.string().catch(""),
  plan: z
    .object({ sections: z.array(z.object({ id: z.string(), name: z.string() })) })
    .optional()
    .catch(undefined),
  completedSections: z.array(SectionView).catch([]),
  failedSections: z
    .array(z.object({ id: z.string(), name: z.string(), error: z.string() }))
    .catch([]),
  warnings: z.array(z.string()).catch([]),
  usage: z
    .object({
      total: UsageView,
      reviewer: UsageView.optional().catch(undefined),
      estimatedCostUsd: z.number().nullable().catch(null),
      unreportedModels: z.array(z.string()).optional().catch(undefined),
    })
    .optional()
    .catch(undefined),
});

export type RunView = z.output<typeof RunView>;
export type SectionView = z.output<typeof SectionView>;

/** Reads a run's output (`graph.invoke`'s result). */
export function readRun(output: unknown): RunView {
  return RunView.parse(output ?? {});
}
