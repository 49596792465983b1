/**
 * Records an evaluation as LangSmith experiments, so the runs, their traces and their scores are
 * in the LangSmith UI: the dataset is uploaded once (its name carries a hash of its cases, so an
 * edited dataset is a new one), and each configuration is one experiment run by `evaluate()`, with
 * the harness's run as the target and its scoring as the evaluator (the judge's calls are traced
 * as the evaluator's, apart from the run's).
 */
import { createHash } from "node:crypto";
import { relative, dirname } from "node:path";
import type { Client } from "langsmith";
import { evaluate, type EvaluationResult } from "langsmith/evaluation";
import type { Example } from "langsmith/schemas";
import type { Dataset, EvalCase, EvalConfiguration } from "./dataset.js";
import type { CaseResult, CaseRun, Harness } from "./harness.js";
import { JUDGE_CRITERIA } from "./judge.js";
import { METRICS } from "./results.js";

/** What an example's inputs hold: enough to find the case again. */
interface ExampleInputs {
  caseId: string;
  topic: string;
}

/** One configuration's experiment. */
export interface ExperimentRecord {
  configuration: string;
  experimentName: string;
}

/** The name of the LangSmith dataset of a dataset file: its name and a hash of its cases. */
export function langsmithDatasetName(dataset: Dataset): string {
  const content = dataset.cases.map((evalCase) => ({ ...exampleOf(dataset, evalCase), line: 0 }));
  const hash = createHash("sha256").update(JSON.stringify(content)).digest("hex").slice(0, 8);
  return `orchestrator-workers eval: ${dataset.name} (${hash})`;
}

function exampleOf(dataset: Dataset, evalCase: EvalCase) {
  return {
    inputs: {
      caseId: evalCase.id,
      topic: evalCase.topic,
      ...(evalCase.plan ? { plan: evalCase.plan } : {}),
    },
    reference_outputs: {
      ...(evalCase.referenceNotes ? { referenceNotes: evalCase.referenceNotes } : {}),
      ...(evalCase.requiredFacts ? { requiredFacts: evalCase.requiredFacts } : {}),
    },
    metadata: {
      line: evalCase.line,
      ...(evalCase.sources ? { sources: relative(dirname(dataset.file), evalCase.sources) } : {}),
    },
  };
}

/** The dataset's examples in LangSmith, uploading the dataset (or its missing cases) first. */
export async function ensureDataset(client: Client, dataset: Dataset): Promise<Example[]> {
  const datasetName = langsmithDatasetName(dataset);
  const stored = (await client.hasDataset({ datasetName }))
    ? await client.readDataset({ datasetName })
    : await client.createDataset(datasetName, {
        description: `Cases of ${dataset.name}.jsonl (orchestrator-workers evaluation harness).`,
      });
  const listed = async () => {
    const examples: Example[] = [];
    for await (const example of client.listExamples({ datasetId: stored.id }))
      examples.push(example);
    return examples;
  };
  let examples = await listed();
  const have = new Set(
    examples.map((example) => (example.inputs as Partial<ExampleInputs>).caseId),
  );
  const missing = dataset.cases.filter((evalCase) => !have.has(evalCase.id));
  if (missing.length > 0) {
    await client.createExamples(
      missing.map((evalCase) => ({ ...exampleOf(dataset, evalCase), dataset_id: stored.id })),
    );
    examples = await listed();
  }
  const order = new Map(dataset.cases.map((evalCase, index) => [evalCase.id, index]));
  return examples
    .filter((example) => order.has((example.inputs as ExampleInputs).caseId))
    .sort(
      (a, b) =>
        order.get((a.inputs as ExampleInputs).caseId)! -
        order.get((b.inputs as ExampleInputs).caseId)!,
    );
}

/** The feedback of one result: the judge's scores (with their reasons) and every metric. */
export function feedbackOf(result: CaseResult): EvaluationResult[] {
  const judged = new Set<string>(JUDGE_CRITERIA);
  return METRICS.flatMap((metric) => {
    const score = metric.value(result);
    if (score === null) return [];
    const reason = judged.has(metric.key)
      ? result.judge?.scores?.[metric.key as (typeof JUDGE_CRITERIA)[number]].reason
      : undefined;
    return [{ key: metric.key, score, ...(reason ? { comment: reason } : {}) }];
  });
}

/**
 * Runs every case under each configuration as one LangSmith experiment per configuration (one
 * after the other; cases `concurrency` at a time) and returns the scored results, calling
 * `onResult` as each is scored.
 */
export async function runExperiments(options: {
  client: Client;
  dataset: Dataset;
  configurations: EvalConfiguration[];
  harness: Harness;
  concurrency: number;
  onResult: (result: CaseResult) => void;
}): Promise<{ results: CaseResult[]; experiments: ExperimentRecord[]; datasetName: string }> {
  const { client, dataset, harness } = options;
  const examples = await ensureDataset(client, dataset);
  const byId = new Map(dataset.cases.map((evalCase) => [evalCase.id, evalCase]));
  const caseOf = (inputs: Record<string, unknown>) => {
    const evalCase = byId.get(String(inputs.caseId));
    if (!evalCase) throw new Error(`No case "${String(inputs.caseId)}" in ${dataset.file}.`);
    return evalCase;
  };
  const results: CaseResult[] = [];
  const experiments: ExperimentRecord[] = [];
  for (const configuration of options.configurations) {
    const runs = new Map<string, CaseRun>();
    // Named: the experiment's runs are called after the target function.
    const runCase = async (inputs: Record<string, unknown>) => {
      const evalCase = caseOf(inputs);
      const run = await harness.run(evalCase, configuration);
      runs.set(evalCase.id, run);
      return run.error ? { error: run.error } : { report: run.run?.report ?? "" };
    };
    const experiment = await evaluate(runCase, {
      data: examples,
      client,
      evaluators: [
        async ({ inputs }: { inputs: Record<string, unknown> }) => {
          const evalCase = caseOf(inputs);
          const run = runs.get(evalCase.id);
          if (!run) throw new Error(`The case "${evalCase.id}" was not run.`);
          const result = await harness.score(evalCase, run);
          results.push(result);
          options.onResult(result);
          return { results: feedbackOf(result) };
        },
      ],
      experimentPrefix: `${dataset.name} · ${configuration.name}`,
      description: `orchestrator-workers evaluation of ${dataset.name} under "${configuration.name}".`,
      metadata: { configuration: configuration.name, fields: configuration.fields },
      maxConcurrency: options.concurrency,
    });
    experiments.push({
      configuration: configuration.name,
      experimentName: experiment.experimentName,
    });
  }
  await client.awaitPendingTraceBatches();
  const order = new Map(dataset.cases.map((evalCase, index) => [evalCase.id, index]));
  const configurationOrder = new Map(
    options.configurations.map((configuration, index) => [configuration.name, index]),
  );
  results.sort(
    (a, b) =>
      configurationOrder.get(a.configuration)! - configurationOrder.get(b.configuration)! ||
      order.get(a.caseId)! - order.get(b.caseId)!,
  );
  return { results, experiments, datasetName: langsmithDatasetName(dataset) };
}
