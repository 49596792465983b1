const MARKER = Symbol.for("orchestrator-workers.error");

/** Base class of every error this package throws on purpose. Check with `isInstance`, not `instanceof`. */
export class OrchestratorWorkersError extends Error {
  readonly [MARKER] = true;

  constructor(name: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = name;
  }

  /** True for any error of this package, even when two copies of the package are loaded. */
  static isInstance(error: unknown): error is OrchestratorWorkersError {
    return typeof error === "object" && error !== null && MARKER in error;
  }
}

/** The input or configuration cannot be used; nothing was sent to a model. `field` names what to change. */
export class InvalidInputError extends OrchestratorWorkersError {
  readonly field: string;

  constructor(options: { field: string; message: string; cause?: unknown }) {
    super("InvalidInputError", options.message, { cause: options.cause });
    this.field = options.field;
  }

  static override isInstance(error: unknown): error is InvalidInputError {
    return OrchestratorWorkersError.isInstance(error) && error.name === "InvalidInputError";
  }
}

/**
 * A model server did not answer at all: nothing listens at its address, the name does not
 * resolve, or the connection was cut before an answer. The OpenAI SDK reports this as
 * "Connection error." and keeps this error as the cause; `shortMessage` shows this one instead.
 */
export class ModelServerUnreachableError extends OrchestratorWorkersError {
  constructor(options: { origin: string; reason: string; cause?: unknown }) {
    super(
      "ModelServerUnreachableError",
      `The model server at ${options.origin} did not answer (${options.reason}): is it running, and is its address right (OPENAI_BASE_URL, or the base URL of the model's provider)?`,
      { cause: options.cause },
    );
  }
}

/** The first of this package's errors in `error`'s chain of causes, if `error` is not one. */
export function ownCause(error: unknown): OrchestratorWorkersError | undefined {
  let current = (error as { cause?: unknown } | null)?.cause;
  for (let depth = 0; depth < 8 && current !== undefined && current !== null; depth += 1) {
    if (OrchestratorWorkersError.isInstance(current)) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The planner returned no usable plan. `plan` holds what came back, for debugging. */
export class PlanError extends OrchestratorWorkersError {
  readonly plan: unknown;

  constructor(options: { message: string; plan?: unknown; cause?: unknown }) {
    super("PlanError", options.message, { cause: options.cause });
    this.plan = options.plan;
  }

  static override isInstance(error: unknown): error is PlanError {
    return OrchestratorWorkersError.isInstance(error) && error.name === "PlanError";
  }
}

/** A worker could not write its section. */
export class SectionError extends OrchestratorWorkersError {
  readonly sectionId: string;
  readonly sectionName: string;

  constructor(options: {
    sectionId: string;
    sectionName: string;
    message: string;
    cause?: unknown;
  }) {
    super("SectionError", options.message, { cause: options.cause });
    this.sectionId = options.sectionId;
    this.sectionName = options.sectionName;
  }

  static override isInstance(error: unknown): error is SectionError {
    return OrchestratorWorkersError.isInstance(error) && error.name === "SectionError";
  }
}

/**
 * A run was started on a thread that a run of the same graph's checkpointer is still running in
 * this process. Refused before any node ran: two runs on one thread would both be paid for and the
 * last would overwrite the other's checkpoints. Wait for the first run to end, or use another
 * `thread_id`.
 */
export class ThreadBusyError extends OrchestratorWorkersError {
  readonly threadId: string;
  readonly checkpointNamespace: string;

  constructor(options: { threadId: string; checkpointNamespace?: string }) {
    const namespace = options.checkpointNamespace ?? "";
    super(
      "ThreadBusyError",
      `Thread ${options.threadId}${namespace ? ` (checkpoint namespace ${namespace})` : ""} is already running in this process: wait for that run to end (or cancel it), then run again, or use another thread_id.`,
    );
    this.threadId = options.threadId;
    this.checkpointNamespace = namespace;
  }

  static override isInstance(error: unknown): error is ThreadBusyError {
    return OrchestratorWorkersError.isInstance(error) && error.name === "ThreadBusyError";
  }
}

/** `failFast`: the first subtask that failed stopped the run; the message is redacted. */
export class FailFastError extends OrchestratorWorkersError {
  readonly subtaskId: string;

  constructor(message: string, subtaskId: string) {
    super("FailFastError", `${subtaskId} failed (failFast): ${message}`);
    this.subtaskId = subtaskId;
  }

  static override isInstance(error: unknown): error is FailFastError {
    return OrchestratorWorkersError.isInstance(error) && error.name === "FailFastError";
  }
}

/**
 * An error as one line a person reads (at most `maxLength` characters): its name (unless
 * `withName` is false) and message, newlines folded. The one way this package shortens an error
 * for the state, a report or a terminal. An error that wraps one of this package's (the OpenAI
 * SDK's "Connection error." around a `ModelServerUnreachableError`) is shown as the one it wraps.
 * Give `redact` rather than redacting the result: a secret cut in two by the shortening is no
 * longer found whole.
 */
export function shortMessage(
  error: unknown,
  options: {
    maxLength?: number;
    withName?: boolean;
    /** Applied to the whole line before it is cut, so no cut leaves a secret's prefix behind. */
    redact?: (text: string) => string;
  } = {},
): string {
  const { maxLength = 300, withName = true, redact: redactLine = (text: string) => text } = options;
  // A library's wrapper around one of this package's errors says less than it does.
  if (!OrchestratorWorkersError.isInstance(error)) error = ownCause(error) ?? error;
  const text =
    error instanceof Error
      ? withName
        ? `${error.name}: ${error.message}`
        : error.message
      : String(error);
  const line = redactLine(text.replace(/\s*\n\s*/g, " ").trim());
  return line.length > maxLength ? `${line.slice(0, maxLength - 1)}…` : line;
}

/** What stands in for a secret in any text this package writes or prints. */
export const REDACTED = "[redacted]";

/**
 * The one redaction: `text` with every occurrence of each secret replaced by `[redacted]`. Every
 * error text that can reach the state, a report, a trace or a terminal goes through it.
 */
export function redact(text: string, secrets: readonly string[]): string {
  let result = text;
  for (const secret of secrets) {
    if (secret) result = result.split(secret).join(REDACTED);
  }
  return result;
}

/**
 * `value` with `redact` applied to every string in it: plain objects and arrays are copied with
 * their strings (keys too) redacted, other objects (class instances) are kept as they are. What
 * a node hands to the state goes through it, so no secret a model or a tool quoted is stored.
 */
export function redactValue<T>(value: T, redact: (text: string) => string): T {
  return redactIn(value, redact) as T;
}

function redactIn(value: unknown, redact: (text: string) => string): unknown {
  if (typeof value === "string") return redact(value);
  if (Array.isArray(value)) return value.map((item) => redactIn(item, redact));
  if (typeof value !== "object" || value === null) return value;
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [redact(key), redactIn(item, redact)]),
  );
}
