import { z } from "zod";
import { registry, type ReducedZodChannel } from "@langchain/langgraph/zod";
import { InvalidInputError } from "../errors.js";
import { checkDependencies, plainLine, printable } from "./input.js";
import { MESSAGES_DESCRIPTION, messagesKey } from "./messages.js";
import { PLAN_STATUSES } from "./plan.js";
import { CORE_KEYS, PLAN_SOURCES, type CoreSubtask, type StateShape } from "./shape.js";
import { ModelCallSchema } from "./usage.js";

/**
 * Longest request accepted, in UTF-16 code units: a request is a task to plan, not a document to
 * process (give documents to the workers' tools). Checked before any other pass over the text.
 */
export const MAX_REQUEST_LENGTH = 100_000;

/** A subtask's own fields, as a zod object: `z.object({ path: z.string(), change: z.string() })`. */
export type SubtaskFields = z.ZodObject<z.ZodRawShape>;

/**
 * A list that nodes append to (a reducer-backed key): each update's items are added at the end.
 * Readers key entries by id, so the order in which workers finish never matters.
 */
export function appendedList<T extends z.ZodType>(
  item: T,
  description: string,
): ReducedZodChannel<z.ZodArray<T>, z.ZodArray<T>> {
  // `register` types its result as a reduced channel only for a concrete schema, not a generic one;
  // that marker is type-only, and the registration itself is what LangGraph reads at run time.
  return z
    .array(item)
    .describe(description)
    .register(registry, {
      reducer: {
        schema: z.array(item),
        fn: (current: z.output<T>[], update: z.output<T>[]) => current.concat(update),
      },
      default: () => [],
    }) as unknown as ReducedZodChannel<z.ZodArray<T>, z.ZodArray<T>>;
}

/**
 * The state, input, output and worker schemas of an orchestrator-workers graph whose subtasks have
 * the fields of `subtask`: what LangGraph validates and what Studio shows. Custom fields are kept
 * wherever a subtask goes (the plan, a worker's input, a reviewer's edit).
 */
export function orchestratorWorkersSchemas<
  Shape extends z.ZodRawShape,
  Result = unknown,
  Output = unknown,
>(subtask: z.ZodObject<Shape>) {
  const id = z.string().min(1).describe("Stable id of the subtask within its plan (s1, s2, ...).");
  const planned = subtask.extend({
    id,
    dependsOn: z
      .array(z.string())
      .optional()
      .describe("Ids of the subtasks whose results this one needs; it runs after them."),
    round: z
      .number()
      .int()
      .optional()
      .describe("The planning round that added the subtask, when later than the first."),
  });
  const given = subtask.extend({
    id: id.optional().describe("Optional id; s<position> when omitted."),
    dependsOn: z
      .array(z.union([z.string(), z.number()]))
      .optional()
      .describe("Optional ids (or 1-based positions) of the subtasks this one needs."),
  });
  const request = z.string().describe("What to do: the task the planner splits into subtasks.");
  // Optional in the input and state: a human message in `messages` can carry it instead.
  const givenRequest = request
    .optional()
    .describe(
      "What to do: the task the planner splits into subtasks; or leave it out and send a human message in messages.",
    );
  const messages = messagesKey(MESSAGES_DESCRIPTION);
  // Items are checked by the orchestrator (`checkSubtasks`), not by LangGraph's input validation,
  // so a wrong one is refused with a message naming the field and what to change.
  const readyPlan = z
    .array(z.record(z.string(), z.unknown()))
    .nullish()
    .describe(
      `Optional ready-made plan: when given, the planner is skipped. Each item has the subtask's fields (${Object.keys(subtask.shape).join(", ")}) and optionally id and dependsOn.`,
    );
  const plan = z
    .object({
      request: z.string().describe("The request the plan was made for."),
      subtasks: z.array(planned).describe("The planned subtasks, in plan order."),
      status: z.enum(PLAN_STATUSES).describe("Where the plan stands (see PLAN_STATUSES)."),
      source: z.enum(PLAN_SOURCES).describe("Where the plan's latest change came from."),
      round: z.number().int().describe("The planning round (1 for the first plan)."),
      revisions: z.number().int().describe("Times a reviewer sent the plan back."),
      feedback: z.string().optional().describe("The reviewer's feedback (status revise)."),
      messageId: z
        .string()
        .optional()
        .describe("Id of the human message in messages the plan answers."),
    })
    .optional()
    .describe("The plan: its subtasks in order, and where it stands.");
  const result = z.object({
    id: z.string().describe("Id of the subtask."),
    // Typed as the worker's result (a type-only cast: `z.custom` has no JSON schema, and Studio
    // would get no state schema at all); checked as JSON data by the worker wrapper.
    result: (z.unknown() as unknown as z.ZodCustom<Result, Result>).describe(
      "What its worker returned.",
    ),
  });
  const failure = z.object({
    id: z.string().describe("Id of the subtask."),
    error: z.string().describe("Why its worker failed (the error's message)."),
  });
  const results = appendedList(result, "Finished subtasks' results; each worker appends its own.");
  const failed = appendedList(failure, "Subtasks whose worker failed; the others went on.");
  const modelCalls = appendedList(
    ModelCallSchema,
    "Model calls of the current plan (tokens, model, who made it), for budgets and usage.",
  );
  const warnings = appendedList(z.string(), "Things the run did differently from what was asked.");
  const output = (z.unknown() as unknown as z.ZodCustom<Output, Output>).describe(
    "What the synthesizer made: the results in plan order unless `synthesize` is given.",
  );

  return {
    PlannedSubtask: planned,
    GivenSubtask: given,
    State: z.object({
      messages,
      request: givenRequest,
      subtasks: readyPlan,
      plan,
      results,
      failed,
      modelCalls,
      warnings,
      output,
    }),
    Input: z.object({ messages, request: givenRequest, subtasks: readyPlan }),
    Output: z.object({ messages, output, plan, results, failed, warnings }),
    WorkerInput: z.object({
      request,
      subtask: planned.describe("The one subtask this worker does."),
      dependencies: z
        .array(result)
        .optional()
        .describe("The results of the subtasks this one depends on, finished before it."),
    }),
  };
}

/**
 * Checks a list of subtasks against the subtask schema and gives each a stable id: its own (text
 * without control or invisible characters, unique within the plan) or `s<position>`. `dependsOn`
 * may name ids or 1-based positions; every dependency must exist and none may form a cycle.
 * `field` names the list in errors. Throws an `InvalidInputError` that says what to change.
 */
export function checkSubtasks(items: unknown[], schema: z.ZodType, field: string): CoreSubtask[] {
  const seen = new Set<string>();
  const checked = items.map((item, index) => {
    const position = `${field}[${index}]`;
    if (typeof item !== "object" || item === null || Array.isArray(item)) {
      throw new InvalidInputError({
        field: position,
        message: `${position} is not a subtask: give an object with the subtask's fields.`,
      });
    }
    const parsed = schema.safeParse(item);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const where = issue.path.length ? `.${issue.path.join(".")}` : "";
      throw new InvalidInputError({
        field: `${position}${where}`,
        message: `${position}${where}: ${issue.message}.`,
      });
    }
    const value = parsed.data as Record<string, unknown> & {
      id?: string;
      dependsOn?: (string | number)[];
    };
    const id = value.id?.trim() || `s${index + 1}`;
    if (id.length > MAX_SUBTASK_ID_LENGTH) {
      throw new InvalidInputError({
        field: position,
        message: `${position} has an id of ${id.length} characters: use at most ${MAX_SUBTASK_ID_LENGTH}.`,
      });
    }
    if (/[\p{Cc}\p{Cf}\u2028\u2029]/u.test(id)) {
      throw new InvalidInputError({
        field: position,
        message: `${position} has the id "${printable(id)}", with control or invisible characters: use letters, digits, - or _.`,
      });
    }
    if (seen.has(id)) {
      throw new InvalidInputError({
        field: position,
        message: `${position} repeats the id "${id}": ids must be unique within a plan.`,
      });
    }
    seen.add(id);
    const { dependsOn, ...fields } = value;
    const named = [...new Set((dependsOn ?? []).map((dependency) => String(dependency).trim()))];
    return { ...fields, id, ...(named.length ? { dependsOn: named } : {}) };
  });
  const resolved = checked.map((subtask) =>
    subtask.dependsOn
      ? {
          ...subtask,
          dependsOn: subtask.dependsOn.map((dependency) => {
            if (seen.has(dependency)) return dependency;
            const place = /^\d+$/.test(dependency) ? Number(dependency) : NaN;
            return place >= 1 && place <= checked.length ? checked[place - 1]!.id : dependency;
          }),
        }
      : subtask,
  );
  checkDependencies(
    resolved.map((subtask) => ({ ...subtask, name: subtaskLabel(subtask) })),
    field,
    "subtask",
  );
  return resolved;
}

/**
 * The request as the planner and workers get it: text, not empty, at most `MAX_REQUEST_LENGTH`
 * long (checked first), with terminal escapes and control characters other than newlines and tabs
 * removed. Throws an `InvalidInputError` that says what to change.
 */
export function checkRequest(request: unknown): string {
  if (typeof request !== "string" || request.trim() === "") {
    throw new InvalidInputError({
      field: "request",
      message: "The request is empty: give the task to plan and carry out, as text.",
    });
  }
  if (request.length > MAX_REQUEST_LENGTH) {
    throw new InvalidInputError({
      field: "request",
      message: `The request is ${request.length} characters long; shorten it to at most ${MAX_REQUEST_LENGTH} (give long material to the workers' tools).`,
    });
  }
  // eslint-disable-next-line no-control-regex
  const text = request.replace(/\u001b\[[0-?]*[ -/]*[@-~]?|[^\P{Cc}\n\t]/gu, "").trim();
  if (text === "") {
    throw new InvalidInputError({
      field: "request",
      message: "The request has no visible characters: give the task to plan, as text.",
    });
  }
  return text;
}

/** Longest subtask id, and longest name shown for a subtask (run names, events, messages). */
export const MAX_SUBTASK_ID_LENGTH = 200;

/**
 * A subtask's name for people: its `name`, `title` or `path` field when it has one, else its id;
 * as one line of visible text (no terminal escapes or control characters), at most 200
 * characters. It names the subtask's run, tags and progress events.
 */
export function subtaskLabel(subtask: CoreSubtask): string {
  for (const field of ["name", "title", "path"]) {
    const value = subtask[field];
    if (typeof value !== "string") continue;
    const line = plainLine(value.slice(0, 4 * MAX_SUBTASK_ID_LENGTH));
    if (line) return line.length > MAX_SUBTASK_ID_LENGTH ? `${line.slice(0, 199)}…` : line;
  }
  return subtask.id;
}

/**
 * The generic graph's shape for the core nodes: the core's own key names, requests and subtasks
 * checked against the given schema (`GivenSubtask` of `orchestratorWorkersSchemas`), results kept
 * as `{ id, result }` and handed to dependent workers as they are.
 */
export function subtaskShape(given: z.ZodType): StateShape {
  const withIds = (items: unknown[], field: string) => checkSubtasks(items, given, field);
  const comparable = (subtasks: CoreSubtask[]) =>
    JSON.stringify(subtasks.map(({ round: _round, ...fields }) => fields));
  return {
    keys: CORE_KEYS,
    noun: "subtask",
    validateInput({ request, subtasks }) {
      const checked = checkRequest(request);
      if (subtasks === undefined || subtasks === null) return { request: checked };
      if (!Array.isArray(subtasks) || subtasks.length === 0) {
        throw new InvalidInputError({
          field: "subtasks",
          message:
            "The ready-made plan has no subtasks: give at least one, or leave it out to plan them.",
        });
      }
      return { request: checked, subtasks: withIds(subtasks, "subtasks") };
    },
    withIds,
    samePlan: (given, current) => comparable(given) === comparable(current),
    label: subtaskLabel,
    resultEntry: (subtask, result) => ({ id: subtask.id, result }),
    failedEntry: (subtask, error) => ({ id: subtask.id, error }),
    dependency: (entry) => entry,
  };
}
