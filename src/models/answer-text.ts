/**
 * Reading what models actually send back: reasoning blocks around the answer, JSON in fences or
 * prose, JSON only in the reasoning field, an outer wrapper, keys in another casing. Pure
 * functions over text and values; the structured-output call and the workers use them.
 */

/** Blocks of reasoning that reasoning models (DeepSeek-R1, Qwen3, QwQ) put in their content. */
const REASONING_BLOCK = /<(think|thinking|reasoning)>[\s\S]*?<\/\1>/gi;
/** A closing tag with no opening one: the server dropped the opening tag of a reasoning block. */
const DANGLING_CLOSE = /^[\s\S]*?<\/(think|thinking|reasoning)>/i;
/** An opening tag never closed: the answer was cut off inside its reasoning. */
const UNCLOSED_OPEN = /<(think|thinking|reasoning)>[\s\S]*$/i;

/** The text without reasoning blocks (`<think>`, `<thinking>`, `<reasoning>`), trimmed. */
export function withoutReasoning(text: string): string {
  let result = text.replace(REASONING_BLOCK, "");
  if (DANGLING_CLOSE.test(result)) result = result.replace(DANGLING_CLOSE, "");
  return result.replace(UNCLOSED_OPEN, "").trim();
}

/** The reasoning a message carries outside its content (`reasoning_content` or `reasoning`). */
export function reasoningOf(message: { additional_kwargs?: Record<string, unknown> }): string {
  const extra = message.additional_kwargs ?? {};
  const value = extra.reasoning_content ?? extra.reasoning;
  return typeof value === "string" ? value : "";
}

/**
 * The first JSON object or array found in `text`: the whole text, a ```json fence, or the
 * outermost balanced braces after prose; reasoning blocks are removed first. Undefined when there
 * is none.
 */
export function findJson(text: string): unknown {
  const cleaned = withoutReasoning(text);
  const candidates = [
    cleaned,
    ...[...cleaned.matchAll(/```(?:json|JSON)?\s*\n?([\s\S]*?)```/g)].map((match) => match[1]!),
    ...balancedSpans(cleaned),
  ];
  for (const candidate of candidates) {
    const trimmed = candidate.trim();
    if (!trimmed.startsWith("{") && !trimmed.startsWith("[")) continue;
    try {
      return JSON.parse(trimmed) as unknown;
    } catch {
      // try the next candidate
    }
  }
  return undefined;
}

/** Spans of `text` from an opening brace or bracket to its matching close, outermost first. */
function balancedSpans(text: string): string[] {
  const spans: string[] = [];
  for (let start = 0; start < text.length; start += 1) {
    const open = text[start];
    if (open !== "{" && open !== "[") continue;
    const end = matchingClose(text, start);
    if (end > start) {
      spans.push(text.slice(start, end + 1));
      start = end;
    }
  }
  return spans;
}

function matchingClose(text: string, start: number): number {
  const stack: string[] = [];
  let inString = false;
  for (let index = start; index < text.length; index += 1) {
    const character = text[index]!;
    if (inString) {
      if (character === "\\") index += 1;
      else if (character === '"') inString = false;
      continue;
    }
    if (character === '"') inString = true;
    else if (character === "{") stack.push("}");
    else if (character === "[") stack.push("]");
    else if (character === "}" || character === "]") {
      if (stack.pop() !== character) return -1;
      if (stack.length === 0) return index;
    }
  }
  return -1;
}

/**
 * Brings a parsed answer to the schema's shape where that is unambiguous: keys matched to the
 * schema's keys without regard to case, dashes or underscores (`Sections`, `depends_on`); an
 * object whose only key is not the schema's (`{ "plan": { ... } }`) unwrapped; numbers where the
 * schema wants strings turned into strings. What stays off-schema is left for validation.
 */
export function toSchemaShape(value: unknown, schema: JsonSchemaNode): unknown {
  if (Array.isArray(value)) {
    return schema.type === "array" && schema.items
      ? value.map((item) => toSchemaShape(item, schema.items!))
      : value;
  }
  if (typeof value === "number" && schemaTypes(schema).includes("string")) return String(value);
  if (typeof value !== "object" || value === null) return value;
  const properties = schema.properties;
  if (!properties) return value;
  const byLooseName = new Map(Object.keys(properties).map((key) => [loose(key), key]));
  const entries = Object.entries(value as Record<string, unknown>);
  const matched = entries.filter(([key]) => byLooseName.has(loose(key)));
  if (matched.length === 0 && entries.length === 1) {
    const [, inner] = entries[0]!;
    if (typeof inner === "object" && inner !== null && !Array.isArray(inner)) {
      return toSchemaShape(inner, schema);
    }
  }
  return Object.fromEntries(
    entries.map(([key, inner]) => {
      const name = byLooseName.get(loose(key)) ?? key;
      const property = properties[name];
      return [name, property ? toSchemaShape(inner, property) : inner];
    }),
  );
}

/** The parts of a JSON schema that `toSchemaShape` reads. */
export interface JsonSchemaNode {
  type?: string | string[];
  properties?: Record<string, JsonSchemaNode>;
  items?: JsonSchemaNode;
  anyOf?: JsonSchemaNode[];
}

function schemaTypes(schema: JsonSchemaNode): string[] {
  const own = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  return [...own, ...(schema.anyOf ?? []).flatMap(schemaTypes)];
}

function loose(key: string): string {
  return key.toLowerCase().replace(/[-_\s]/g, "");
}
