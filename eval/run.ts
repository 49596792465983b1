/**
 * `npm run eval -- --dataset FILE [--config A.json --config B.json ...]`: runs every case of a
 * dataset through the report graph under each configuration, scores each report (deterministic
 * checks, the run's numbers, an LLM judge's rubric), and writes a Markdown table per
 * configuration with a side-by-side comparison, plus a JSON file of everything. With
 * `LANGSMITH_API_KEY` set, the runs are also recorded as LangSmith experiments.
 *
 * Exit codes: 0 the results were written; 1 they were written but some runs or judgements failed
 * (the files say which), or the evaluation itself failed; 2 bad usage or input (nothing was called).
 */
import { mkdir, open, rm, stat, writeFile } from "node:fs/promises";
import { realpathSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { awaitAllCallbacks } from "@langchain/core/callbacks/promises";
import { Command, CommanderError, InvalidArgumentError } from "commander";
import { Client } from "langsmith";
import { readEnvironment, secretsOf, type Environment } from "../src/env.js";
import { InvalidInputError, redact, redactValue, shortMessage } from "../src/errors.js";
import { mcpSecretsOf } from "../src/tools/mcp.js";
import { checkModelNames, usesOfflineModel } from "../src/models/chat-models.js";
import { readConfiguration, readDataset, type EvalConfiguration } from "./dataset.js";
import { createHarness, inPool, type CaseResult } from "./harness.js";
import { runExperiments, type ExperimentRecord } from "./langsmith.js";
import { compare, problemsOf, renderResults, summarize } from "./results.js";

/** Where the evaluation writes; injectable so tests can capture it. */
export interface EvalIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const defaultIo: EvalIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

interface EvalOptions {
  dataset: string;
  config: string[];
  model?: string;
  judgeModel?: string;
  out: string;
  json: string;
  concurrency: number;
  maxRetries?: number;
  offline?: boolean;
}

function wholeNumber(minimum: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < minimum) {
      throw new InvalidArgumentError(`expected a whole number of at least ${minimum}.`);
    }
    return Number(value);
  };
}

function parseArguments(argv: string[], io: EvalIo): EvalOptions | number {
  const program = new Command()
    .name("npm run eval --")
    .description(
      "Run a dataset of report topics through the graph under one or more configurations, score each report, and write a comparison.",
    )
    .requiredOption("-d, --dataset <file>", "JSONL file of cases (see docs/evaluation.md)")
    .option(
      "-c, --config <file>",
      'JSON file of configuration fields, with an optional "name"; repeat to compare configurations (the first is the baseline)',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option(
      "-m, --model <name>",
      "chat model for the planner, the writers and the aggregator, unless a --config file names one",
    )
    .option("--judge-model <name>", "chat model of the judge (default: the writers' model)")
    .option("-o, --out <file>", "Markdown results file", "eval/RESULTS.md")
    .option("--json <file>", "JSON results file", "eval/results.json")
    .option("--concurrency <n>", "case runs at once", wholeNumber(1), 2)
    .option(
      "--max-retries <n>",
      "retries of a failed model request, for every configuration that sets none, and the judge",
      wholeNumber(0),
    )
    .option("--offline", "use the offline placeholder model (a smoke run of the harness)")
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  try {
    program.parse(argv, { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) return error.code === "commander.helpDisplayed" ? 0 : 2;
    throw error;
  }
  return program.opts<EvalOptions>();
}

/** Where the models come from, in words, for the output. */
function modelSource(environment: Environment, offline: boolean): string {
  if (offline) return "the offline placeholder model";
  if (environment.openaiBaseUrl)
    return `the OpenAI-compatible server at ${environment.openaiBaseUrl}`;
  return "OpenAI";
}

/**
 * Runs the evaluation with `argv` (without node and script) and returns the exit code:
 * 1. parses the options and reads the dataset and configuration files (exit 2 on anything wrong,
 *    naming the line or file, before any model call);
 * 2. checks the models can be created and builds each case's sources tool;
 * 3. runs and scores every case under every configuration (`--concurrency` at a time; as LangSmith
 *    experiments when `LANGSMITH_API_KEY` is set), printing a line per finished case;
 * 4. writes the Markdown and JSON results.
 */
export async function runEval(
  argv: string[],
  environment: Environment = readEnvironment(),
  io: EvalIo = defaultIo,
): Promise<number> {
  const secrets = secretsOf(environment);
  const say = (text: string) => io.stderr(redact(text, secrets));
  try {
    const options = parseArguments(argv, io);
    if (typeof options === "number") return options;
    const path = (file: string) => resolve(environment.workingDirectory, file);
    const dataset = await readDataset(path(options.dataset));
    const configurations: EvalConfiguration[] = options.config.length
      ? await Promise.all(options.config.map((file) => readConfiguration(path(file))))
      : [{ name: "default", fields: {} }];
    // A configuration's MCP servers may hold keys (env, headers, URL): never in the results.
    for (const configuration of configurations) {
      secrets.push(...mcpSecretsOf(configuration.fields.mcpServers));
    }
    secrets.sort((a, b) => b.length - a.length);
    const names = configurations.map((configuration) => configuration.name);
    const repeated = names.find((name, index) => names.indexOf(name) !== index);
    if (repeated !== undefined) {
      throw new InvalidInputError({
        field: "config",
        message: `Two configurations are named "${repeated}": give each file its own "name".`,
      });
    }
    const defaults = {
      ...(options.model
        ? {
            plannerModel: options.model,
            writerModel: options.model,
            aggregatorModel: options.model,
          }
        : {}),
      ...(options.maxRetries === undefined ? {} : { maxRetries: options.maxRetries }),
    };
    // Checked before any case runs: a run of every case that then cannot write its results
    // (`--out .`, a full disk, a read-only folder) would be paid for nothing.
    const out = path(options.out);
    const json = path(options.json);
    await checkWritable(out, "out");
    await checkWritable(json, "json");
    if (out === json) {
      throw new InvalidInputError({
        field: "json",
        message: `--out and --json are both ${out}: give each results file its own path.`,
      });
    }
    const harness = await createHarness({
      dataset,
      configurations,
      environment,
      offline: options.offline,
      defaults,
      judgeModel: options.judgeModel,
      onNotice: (notice) => say(`note: ${notice}\n`),
    });
    const resolved = configurations.map((configuration) => harness.configurationOf(configuration));
    for (const configuration of resolved) {
      await checkModelNames(configuration, { environment, offline: options.offline, secrets });
    }
    const offline =
      options.offline === true ||
      resolved.some((configuration) => usesOfflineModel({ environment, configuration }));
    const total = dataset.cases.length * configurations.length;
    say(
      `Evaluating ${dataset.cases.length} cases × ${configurations.length} configuration${configurations.length === 1 ? "" : "s"} (${configurations.map((configuration) => configuration.name).join(", ")}) with ${modelSource(environment, offline)}; judge: ${offline ? "offline" : harness.judgeModel}${environment.langsmithApiKey ? "; recording LangSmith experiments" : ""}.\n`,
    );
    if (offline) {
      say(
        "note: no model server is configured (OPENAI_BASE_URL or OPENAI_API_KEY): this is a smoke run of the harness with the offline placeholder model, and its scores mean nothing.\n",
      );
    }

    let finished = 0;
    const onResult = (result: CaseResult) => {
      finished += 1;
      say(
        `[${finished}/${total}] ${result.configuration} · ${result.caseId}: ${progressLine(result)}\n`,
      );
    };
    const startedAt = new Date().toISOString();
    let results: CaseResult[];
    let experiments: ExperimentRecord[] | undefined;
    let langsmithDataset: string | undefined;
    if (environment.langsmithApiKey) {
      const client = new Client({ apiKey: environment.langsmithApiKey });
      const recorded = await runExperiments({
        client,
        dataset,
        configurations,
        harness,
        concurrency: options.concurrency,
        onResult,
      });
      ({ results, experiments } = recorded);
      langsmithDataset = recorded.datasetName;
    } else {
      const pairs = dataset.cases.flatMap((evalCase) =>
        configurations.map((configuration) => ({ evalCase, configuration })),
      );
      const scored = await inPool(
        pairs,
        options.concurrency,
        async ({ evalCase, configuration }) => {
          const result = await harness.score(evalCase, await harness.run(evalCase, configuration));
          onResult(result);
          return result;
        },
      );
      // Tables read a configuration at a time, cases in dataset order.
      results = configurations.flatMap((configuration) =>
        scored.filter((result) => result.configuration === configuration.name),
      );
    }

    const header = {
      dataset: relative(environment.workingDirectory, dataset.file) || dataset.file,
      cases: dataset.cases.length,
      judgeModel: offline ? "offline-placeholder" : harness.judgeModel,
      models: modelSource(environment, offline),
      startedAt,
      offline,
    };
    const markdown = renderResults({ header, configurations: names, results });
    const document = {
      ...header,
      configurations: configurations.map((configuration, index) => ({
        name: configuration.name,
        file: configuration.file && relative(environment.workingDirectory, configuration.file),
        fields: { ...defaults, ...configuration.fields },
        resolved: resolved[index],
      })),
      ...(experiments ? { langsmith: { dataset: langsmithDataset, experiments } } : {}),
      summary: summarize(names, results),
      comparisons: compare(names, results),
      results,
    };
    await mkdir(dirname(out), { recursive: true });
    await mkdir(dirname(json), { recursive: true });
    await writeFile(out, redact(markdown, secrets));
    // The values redacted before they are written too: JSON escapes a secret with a quote in it.
    const redactText = (text: string) => redact(text, secrets);
    await writeFile(
      json,
      redactText(`${JSON.stringify(redactValue(document, redactText), null, 2)}\n`),
    );
    io.stdout(`${out}\n${json}\n`);
    const failed = results.filter((result) => result.error || result.judge?.error).length;
    if (failed > 0) {
      say(`error: ${failed} of ${total} runs failed or could not be judged; see ${out}.\n`);
      return 1;
    }
    return 0;
  } catch (error) {
    if (InvalidInputError.isInstance(error)) {
      say(`error: ${error.message}\n`);
      return 2;
    }
    say(
      `error: ${shortMessage(error, { maxLength: 2000, redact: (text) => redact(text, secrets) })}\n`,
    );
    return 1;
  } finally {
    await awaitAllCallbacks();
  }
}

/** Bytes a results file must be able to take before any case runs (a probe, then removed). */
const PROBE_BYTES = 64 * 1024;

/**
 * Refuses (`InvalidInputError`, exit 2) a results path that is a folder or that cannot be
 * written: its folder is created, then a probe file is written next to it and removed, so a
 * read-only folder or a full disk is found now rather than after every case has run. An existing
 * results file is only opened for appending, never changed.
 */
async function checkWritable(file: string, flag: "out" | "json"): Promise<void> {
  const refuse = (why: string, cause?: unknown) =>
    new InvalidInputError({
      field: flag,
      message: `Cannot write the results to ${file} (--${flag}): ${why}. Give --${flag} a file path that can be written.`,
      cause,
    });
  const existing = await stat(file).catch(() => undefined);
  if (existing?.isDirectory()) throw refuse("it is a folder");
  const reason = (error: unknown) => (error as NodeJS.ErrnoException).code ?? String(error);
  try {
    await mkdir(dirname(file), { recursive: true });
    if (existing) await (await open(file, "a")).close();
  } catch (error) {
    throw refuse(reason(error), error);
  }
  const probe = `${file}.${process.pid}.probe`;
  try {
    await writeFile(probe, Buffer.alloc(PROBE_BYTES));
  } catch (error) {
    throw refuse(
      (error as NodeJS.ErrnoException).code === "ENOSPC" ? "the disk is full" : reason(error),
      error,
    );
  } finally {
    await rm(probe, { force: true });
  }
}

function progressLine(result: CaseResult): string {
  if (result.error) return `run failed: ${result.error}`;
  const checks = result.checks?.passed
    ? "checks passed"
    : `checks failed (${problemsOf(result)[0] ?? "see the results"})`;
  const scores = result.judge?.scores ? Object.values(result.judge.scores) : undefined;
  const judged = scores
    ? `judge ${(scores.reduce((sum, entry) => sum + entry.score, 0) / scores.length).toFixed(2)}`
    : `not judged (${result.judge?.error ?? "no verdict"})`;
  const tokens =
    typeof result.metrics?.tokens === "number"
      ? `${result.metrics.tokens.toLocaleString("en-US")} tokens`
      : "tokens unreported";
  return `${checks}, ${judged}, ${tokens}, ${result.metrics?.wallSeconds.toFixed(1)} s`;
}

/** True when this module is the program node runs. */
function isMain(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

if (isMain()) {
  process.exitCode = await runEval(process.argv.slice(2));
}
