/**
 * The one module that reads the process environment. Everything else receives these values as
 * arguments, so tests and programmatic users can pass their own.
 */

/** Settings taken from environment variables. */
export interface Environment {
  /** `OPENAI_API_KEY`: key for the OpenAI-compatible server. */
  openaiApiKey?: string;
  /** `OPENAI_BASE_URL`: base URL of an OpenAI-compatible server (Ollama, vLLM, LM Studio...). */
  openaiBaseUrl?: string;
  /** `OLLAMA_BASE_URL`: Ollama's native API, for `ollama:` models (default http://127.0.0.1:11434). */
  ollamaBaseUrl?: string;
  /** `ANTHROPIC_API_KEY`: key for `anthropic:` models (a secret to redact). */
  anthropicApiKey?: string;
  /** `ANTHROPIC_BASE_URL` or else `ANTHROPIC_API_URL`: Anthropic's Messages API, for `anthropic:` models. */
  anthropicBaseUrl?: string;
  /** `LANGSMITH_API_KEY` or else `LANGCHAIN_API_KEY`: the tracer's key (a secret to redact). */
  langsmithApiKey?: string;
  /** `POSTGRES_URL` or else `DATABASE_URL`: PostgreSQL for checkpoints instead of SQLite. */
  postgresUrl?: string;
  /** `VISUAL` or else `EDITOR`: the command that edits a plan under review in the CLI. */
  editor?: string;
  /** Directory the user ran the command from (`INIT_CWD` under `npm run`), for relative paths. */
  workingDirectory: string;
}

/** Reads the variables this package uses; empty strings count as unset. */
export function readEnvironment(env: NodeJS.ProcessEnv = process.env): Environment {
  return {
    openaiApiKey: nonEmpty(env.OPENAI_API_KEY),
    openaiBaseUrl: nonEmpty(env.OPENAI_BASE_URL),
    ollamaBaseUrl: nonEmpty(env.OLLAMA_BASE_URL),
    anthropicApiKey: nonEmpty(env.ANTHROPIC_API_KEY),
    anthropicBaseUrl: nonEmpty(env.ANTHROPIC_BASE_URL) ?? nonEmpty(env.ANTHROPIC_API_URL),
    langsmithApiKey: nonEmpty(env.LANGSMITH_API_KEY) ?? nonEmpty(env.LANGCHAIN_API_KEY),
    postgresUrl: nonEmpty(env.POSTGRES_URL) ?? nonEmpty(env.DATABASE_URL),
    editor: nonEmpty(env.VISUAL) ?? nonEmpty(env.EDITOR),
    workingDirectory: nonEmpty(env.INIT_CWD) ?? process.cwd(),
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

/**
 * Every secret the environment configures (the model servers' keys, the tracer's key, a database
 * password): what `redact` removes from any text that may reach a file, a trace or a terminal.
 */
export function secretsOf(environment: Environment): string[] {
  let databasePassword: string | undefined;
  try {
    databasePassword = environment.postgresUrl
      ? decodeURIComponent(new URL(environment.postgresUrl).password) || undefined
      : undefined;
  } catch {
    databasePassword = undefined;
  }
  return [
    environment.openaiApiKey,
    environment.anthropicApiKey,
    environment.langsmithApiKey,
    databasePassword,
  ].filter((secret): secret is string => typeof secret === "string" && secret.length >= 4);
}
