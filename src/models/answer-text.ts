/**
 * Reading what models actually send back: reasoning blocks around the answer, JSON in fences or
 * prose, JSON only in the reasoning field, an outer wrapper, keys in another casing. Pure
 * functions over text and values; the structured-output call and the workers use them.
 */

/** Opening and closing tags of the reasoning blocks that reasoning models (DeepSeek-R1, Qwen3, QwQ) put in their content. */
const REASONING_TAG = /<(\/?)(think|thinking|reasoning)>/gi;

/**
 * The text without reasoning blocks (`<think>`, `<thinking>`, `<reasoning>`), trimmed. A closing
 * tag with no opening one (the server dropped it) drops everything before it; an opening tag
 * never closed (the answer was cut off inside its reasoning) drops everything after it. One pass:
 * a block is searched for its closing tag once, so many unclosed tags cost no more than one.
 */
export function withoutReasoning(text: string): string {
  const tags = new RegExp(REASONING_TAG.source, "gi");
  let kept = "";
  let from = 0;
  for (let tag = tags.exec(text); tag; tag = tags.exec(text)) {
    if (tag[1]) {
      kept = "";
      from = tags.lastIndex;
      continue;
    }
    kept += text.slice(from, tag.index);
    const close = new RegExp(`</${tag[2]!}>`, "gi");
    close.lastIndex = tags.lastIndex;
    if (!close.exec(text)) return kept.trim();
    from = close.lastIndex;
    tags.lastIndex = from;
  }
  return (kept + text.slice(from)).trim();
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

/**
 * Openings whose close is searched for to the end of the text in vain before `balancedSpans`
 * stops: each such search reads the rest of the text, so without a bound a text of many unclosed
 * braces costs its length squared (a megabyte of `{` took minutes).
 */
const MAX_UNCLOSED_OPENINGS = 8;

/** Spans of `text` from an opening brace or bracket to its matching close, outermost first. */
function balancedSpans(text: string): string[] {
  const spans: string[] = [];
  let unclosed = 0;
  for (let start = 0; start < text.length; start += 1) {
    const open = text[start];
    if (open !== "{" && open !== "[") continue;
    const end = matchingClose(text, start);
    if (end > start) {
      spans.push(text.slice(start, end + 1));
      start = end;
    } else if (end === UNCLOSED && ++unclosed >= MAX_UNCLOSED_OPENINGS) {
      break;
    }
  }
  return spans;
}

/** What `matchingClose` returns when the text ends before the opening is closed. */
const UNCLOSED = -2;

/** The index of the close matching the opening at `start`: -1 at a mismatched close, `UNCLOSED` when the text ends first. */
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
  return UNCLOSED;
}

/** Longest text `readMarkdownList` reads: the rest is cut before any pattern runs over it. */
export const MAX_LIST_TEXT_LENGTH = 262_144;
/** Longest name an item may have; a longer "name" is a sentence, not a heading. */
const MAX_ITEM_NAME_LENGTH = 120;
/** Most words a name written without emphasis may have (`1. Name: description`). */
const MAX_PLAIN_NAME_WORDS = 12;
/** Longest description gathered from an item's indented lines. */
const MAX_GATHERED_DESCRIPTION_LENGTH = 2_000;

/** An item of a Markdown list that names something and says what it is. */
export interface ListedItem {
  name: string;
  description: string;
}

/**
 * The items of the first Markdown list in `text` that reads as a list of named things, for a
 * model that answered a plan as Markdown instead of JSON. An item is `1. **Name** - description`
 * (or `:`, an en or em dash after the emphasis), `1. Name: description`, `- **Name**: description`
 * (`*`, `+` and `1)` too), or a name alone whose description is on the item's indented lines.
 * Emphasis is stripped from names; reasoning blocks go first; lists inside code fences and nested
 * items are not items of their own. A list is read whole or not at all: one item that names
 * nothing (a numbered list of sentences is prose) and the list is passed over.
 *
 * Bounded: the text is cut to `MAX_LIST_TEXT_LENGTH` before anything reads it, lines are read
 * once by patterns anchored at their start, and at most `maxItems` items are taken (`more` says
 * the list went on). Undefined when no list of at least one such item is found.
 */
export function readMarkdownList(
  text: string,
  options: { maxItems: number },
): { items: ListedItem[]; more: boolean } | undefined {
  const lines = withoutReasoning(text.slice(0, MAX_LIST_TEXT_LENGTH)).split("\n");
  let list: DraftItem[] = [];
  let listIndent = 0;
  let fence: string | undefined;
  let afterBlank = false;
  let more = false;
  for (const line of lines) {
    const trimmed = line.trim();
    const fenceMark = /^(`{3,}|~{3,})/.exec(trimmed)?.[1];
    if (fence !== undefined) {
      if (
        fenceMark !== undefined &&
        fenceMark[0] === fence[0] &&
        fenceMark.length >= fence.length
      ) {
        fence = undefined;
      }
      continue;
    }
    if (fenceMark !== undefined) {
      fence = fenceMark;
      continue;
    }
    if (trimmed === "") {
      afterBlank = true;
      continue;
    }
    const indent = indentOf(line);
    const itemText = LIST_ITEM.exec(trimmed)?.[1];
    const current = list[list.length - 1];
    if (itemText !== undefined && indent <= (current ? listIndent + 1 : 3)) {
      if (list.length === options.maxItems) {
        more = true;
        break;
      }
      if (!current) listIndent = indent;
      list.push({ ...splitItem(itemText), gathered: "" });
    } else if (current && (indent >= listIndent + 2 || !afterBlank)) {
      // The item's indented lines (its nested items among them), or a line continuing it lazily.
      if (current.gathered.length < MAX_GATHERED_DESCRIPTION_LENGTH) {
        const words = trimmed.replace(LIST_MARKER, "");
        const joint = !current.gathered ? "" : words === trimmed ? " " : "; ";
        current.gathered = `${current.gathered}${joint}${words}`;
      }
    } else if (current) {
      // A paragraph at the margin ends the list: read it, or look for the next one.
      if (list.every(isUsable)) break;
      list = [];
    }
    afterBlank = false;
  }
  const items = list.map((item) => ({
    name: item.name ?? "",
    description: item.description || item.gathered.slice(0, MAX_GATHERED_DESCRIPTION_LENGTH),
  }));
  if (items.length === 0 || !items.every((item) => item.name && item.description)) return undefined;
  return { items, more };
}

/** A list item's marker (`1.`, `1)`, `-`, `*`, `+`) and the space after it. */
const LIST_MARKER = /^(?:\d{1,3}[.)]|[-*+])[ \t]+/;
/** A list item: its marker, then its text. */
const LIST_ITEM = /^(?:\d{1,3}[.)]|[-*+])[ \t]+(\S.*)$/;

/** An item as read so far: its name and description, and the text of its indented lines. */
interface DraftItem {
  name?: string;
  description?: string;
  gathered: string;
}

function isUsable(item: DraftItem): boolean {
  return item.name !== undefined && Boolean(item.description || item.gathered);
}

/** The columns a line is indented by (a tab counts four). */
function indentOf(line: string): number {
  let columns = 0;
  for (const character of line) {
    if (character === " ") columns += 1;
    else if (character === "\t") columns += 4;
    else break;
  }
  return columns;
}

/**
 * An item's name and description: an emphasised name and what follows it, else a short name
 * before a colon or a spaced dash, else a short name alone (its description may be on the lines
 * below). A sentence is no name: `name` stays undefined.
 */
function splitItem(text: string): { name?: string; description?: string } {
  for (const mark of ["**", "__"]) {
    if (!text.startsWith(mark)) continue;
    const close = text.indexOf(mark, mark.length);
    if (close <= mark.length) break;
    const name = plainName(text.slice(mark.length, close));
    const rest = text.slice(close + mark.length).trim();
    const description = /^[:\-\u2013\u2014]/.test(rest) ? rest.slice(1).trim() : rest;
    return NAMES_SOMETHING.test(name) && name.length <= MAX_ITEM_NAME_LENGTH
      ? { name, description }
      : {};
  }
  const separator = /:(?:\s|$)|\s[-\u2013\u2014]\s/.exec(text);
  const name = plainName(separator ? text.slice(0, separator.index) : text);
  const description = separator ? text.slice(separator.index + separator[0].length).trim() : "";
  const words = name.split(/\s+/).length;
  const isHeading =
    NAMES_SOMETHING.test(name) &&
    name.length <= MAX_ITEM_NAME_LENGTH &&
    words <= MAX_PLAIN_NAME_WORDS &&
    !/[.!?,;]\s|[.!?]$/.test(name);
  return isHeading ? { name, description } : {};
}

/** A name holds a letter or a digit; punctuation alone names nothing. */
const NAMES_SOMETHING = /[\p{L}\p{N}]/u;

/** A name without Markdown emphasis or code marks, or a colon it ended with. */
function plainName(text: string): string {
  return text
    .replace(/[*`]+/g, "")
    .replace(/(^|\s)_+|_+(\s|$)/g, "$1$2")
    .trim()
    .replace(/:$/, "")
    .trim();
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
