import { InvalidInputError } from "../errors.js";
import type { InputSection, Section } from "./section.js";
import { DEFAULT_ROLES, type Role } from "./configuration.js";

/**
 * Longest topic accepted, in user-perceived characters (grapheme clusters: an emoji made of
 * several code points counts as one): a topic is a subject or a question, not a document.
 */
export const MAX_TOPIC_LENGTH = 2000;

/** Longest section name kept, in user-perceived characters; longer names are cut, ending in "…". */
export const MAX_SECTION_NAME_LENGTH = 200;

/**
 * Most UTF-16 code units of a topic or section name read before any cleaning: a topic longer is
 * refused at once, a name longer is cut there first. Generous (32 code units for each character
 * kept, room for escapes, zero-width characters and long emoji), so the limits above are what a
 * person meets, and no cleaning pass ever runs over a megabyte somebody pasted.
 */
const RAW_LENGTH_PER_CHARACTER = 32;

/** A validated run input: a trimmed topic and, when given, a ready-made plan with ids. */
export interface ValidatedInput {
  topic: string;
  sections?: Section[];
}

/**
 * Terminal escape sequences: CSI (`ESC [ ... final`, or the one-byte C1 CSI), OSC (`ESC ] ...`
 * ended by BEL or `ESC \`, or cut off), and the two-byte `ESC <char>` forms.
 */
const TERMINAL_ESCAPE =
  // eslint-disable-next-line no-control-regex
  /\u001b\[[0-?]*[ -/]*[@-~]?|\u009b[0-?]*[ -/]*[@-~]?|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|\u001b[ -~]?/g;
/** Control characters (C0, DEL, C1) and the line and paragraph separators. */
const CONTROL = /[\p{Cc}\u2028\u2029]/gu;
/** Invisible format characters: zero-width spaces and joiners, bidi controls, BOM, soft hyphen... */
const FORMAT = /\p{Cf}/gu;
/** Any invisible format character (a test: does `plainLine` need to find the emoji). */
const FORMAT_ANY = /\p{Cf}/u;
const LETTER_OR_MARK = /^[\p{L}\p{M}]$/u;
const LETTER = /^\p{L}$/u;
/** A grapheme that is an emoji: its joiners, tags and selectors are part of the picture. */
const EMOJI = /\p{Extended_Pictographic}|\p{Regional_Indicator}/u;
/** Characters that are never part of an identifier a person can read and type. */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\u2028\u2029]/u;

const graphemeSegmenter = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/** Code units segmented at once by `graphemes`: `Intl.Segmenter` slows with the text's length. */
const SEGMENT_CHUNK = 1024;

/**
 * The user-perceived characters (grapheme clusters) of `text`. Linear: V8's `Intl.Segmenter`
 * takes time that grows with the square of the text it walks (100,000 characters: seconds), so
 * the text is segmented a chunk at a time. A chunk's last cluster may be cut off, so it is
 * segmented again at the start of the next chunk; every boundary before it is right, since a
 * boundary depends only on what comes before it and the character after it.
 */
export function graphemes(text: string): string[] {
  const result: string[] = [];
  let start = 0;
  let size = SEGMENT_CHUNK;
  while (start < text.length) {
    const end = start + size;
    const parts = Array.from(
      graphemeSegmenter.segment(text.slice(start, end)),
      (part) => part.segment,
    );
    if (end >= text.length) {
      result.push(...parts);
      break;
    }
    if (parts.length < 2) {
      // One cluster longer than the chunk (a letter under thousands of marks): a larger chunk.
      size *= 2;
      continue;
    }
    parts.pop();
    for (const part of parts) {
      result.push(part);
      start += part.length;
    }
    size = SEGMENT_CHUNK;
  }
  return result;
}

/**
 * `text` as one line of plain, visible text: terminal escape sequences removed; control characters
 * (newlines and tabs included) turned into spaces; invisible format characters (zero-width spaces,
 * word joiners, bidi controls, BOM, soft hyphens) removed, except a zero-width joiner or non-joiner
 * between two letters (Persian, Indic scripts) and the joiners and tags inside an emoji; runs of
 * white space collapsed to one space; trimmed. Linear in the length of `text`: every pass is one
 * walk, and a character is judged by its neighbours and its grapheme, never by re-reading what
 * came before it (a megabyte of zero-width characters once took minutes).
 */
export function plainLine(text: string): string {
  const line = text.replace(TERMINAL_ESCAPE, "").replace(CONTROL, " ");
  // Where the emoji graphemes are, in order: the format characters inside them are kept.
  const emojiRanges: [number, number][] = [];
  if (FORMAT_ANY.test(line)) {
    let index = 0;
    for (const grapheme of graphemes(line)) {
      if (EMOJI.test(grapheme)) emojiRanges.push([index, index + grapheme.length]);
      index += grapheme.length;
    }
  }
  let range = 0;
  const visible = line.replace(FORMAT, (character, at: number) => {
    // Matches come in order, so the ranges that end before this one are done with.
    while (range < emojiRanges.length && emojiRanges[range]![1] <= at) range += 1;
    const emoji = emojiRanges[range];
    if (emoji && at >= emoji[0]) return character;
    if (character !== "\u200c" && character !== "\u200d") return "";
    const before = String.fromCodePoint(codePointBefore(line, at) ?? 0x20);
    const after = String.fromCodePoint(line.codePointAt(at + 1) ?? 0x20);
    return LETTER_OR_MARK.test(before) && LETTER.test(after) ? character : "";
  });
  return visible.replace(/\s+/gu, " ").trim();
}

/** The code point that ends just before `index` in `text` (a surrogate pair read whole). */
function codePointBefore(text: string, index: number): number | undefined {
  if (index <= 0) return undefined;
  const low = text.charCodeAt(index - 1);
  if (low >= 0xdc00 && low <= 0xdfff && index >= 2) {
    const high = text.charCodeAt(index - 2);
    if (high >= 0xd800 && high <= 0xdbff) return text.codePointAt(index - 2);
  }
  return low;
}

/**
 * Control characters stored text never keeps: C0 controls but tab, newline and carriage return,
 * DEL, C1 controls, and the bidi embedding, override and isolate controls (U+202A-U+202E,
 * U+2066-U+2069) that make a line read as something it is not.
 */
const UNSTORABLE =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/**
 * `text` as it may be stored (state, checkpoints, the report): terminal escape sequences and the
 * `UNSTORABLE` control characters removed, everything else (tabs, line ends, emoji and their
 * joiners) kept. One pass each; text without them is returned as it is.
 */
export function storableText(text: string): string {
  if (!UNSTORABLE.test(text)) return text;
  return text.replace(TERMINAL_ESCAPE, "").replace(new RegExp(UNSTORABLE.source, "g"), "");
}

/**
 * `text` safe to write to a terminal as lines: line ends kept (a CRLF becomes a newline), and
 * every other control character, a carriage return alone included (it would overwrite the line,
 * forging a progress line), a terminal escape sequence's ESC and a bidi control shown as a
 * `\u001b`-style escape instead of acting on the terminal.
 */
export function terminalText(text: string): string {
  const unsafe = new RegExp(`${UNSTORABLE.source}|\r(?!\n)`, "g");
  return text
    .replace(/\r\n/g, "\n")
    .replace(
      unsafe,
      (character) => `\\u${character.codePointAt(0)!.toString(16).padStart(4, "0")}`,
    );
}

/**
 * `text` safe to print in a one-line message: control and invisible characters (an escape
 * sequence's ESC, a newline, a zero-width space) shown as `\u001b`-style escapes, not sent raw.
 */
export function printable(text: string): string {
  return text.replace(
    new RegExp(UNPRINTABLE.source, "gu"),
    (character) => `\\u${character.codePointAt(0)!.toString(16).padStart(4, "0")}`,
  );
}

/**
 * Checks a run's input before any model is called and says what to change when it is unusable:
 * the topic becomes one line of visible text (see `plainLine`: terminal escapes, control and
 * zero-width characters never reach a prompt, a title or a terminal) and must then be non-empty
 * and at most `MAX_TOPIC_LENGTH` user-perceived characters; a ready-made plan must have named,
 * described sections with distinct ids (see `withIds`). Sections without an id get `s<position>`.
 */
export function validateInput(input: { topic?: unknown; sections?: unknown }): ValidatedInput {
  if (typeof input.topic !== "string" || input.topic.trim() === "") {
    throw new InvalidInputError({
      field: "topic",
      message: "The topic is empty: give the subject or question the report is about.",
    });
  }
  // Refused before any cleaning pass: no topic this long can clean down to the limit.
  if (input.topic.length > MAX_TOPIC_LENGTH * RAW_LENGTH_PER_CHARACTER) {
    throw new InvalidInputError({
      field: "topic",
      message: `The topic is ${input.topic.length} characters long; shorten it to at most ${MAX_TOPIC_LENGTH}.`,
    });
  }
  const topic = plainLine(input.topic);
  if (topic === "") {
    throw new InvalidInputError({
      field: "topic",
      message:
        "The topic has no visible characters (only control, escape or zero-width characters): give the subject or question the report is about.",
    });
  }
  const length = graphemes(topic).length;
  if (length > MAX_TOPIC_LENGTH) {
    throw new InvalidInputError({
      field: "topic",
      message: `The topic is ${length} characters long; shorten it to at most ${MAX_TOPIC_LENGTH}.`,
    });
  }
  if (input.sections === undefined || input.sections === null) return { topic };
  if (!Array.isArray(input.sections) || input.sections.length === 0) {
    throw new InvalidInputError({
      field: "sections",
      message:
        "The ready-made plan has no sections: give at least one, or leave it out to plan one.",
    });
  }
  return { topic, sections: withIds(input.sections as InputSection[], "sections") };
}

/** Characters escaped wherever they are: code spans and fences, HTML and autolinks, links. */
const INLINE_SPECIAL = /[`<>[\]]/;
/** A start that would open a block in a list item: a heading, a list, a thematic break, a fence. */
const LEADING_BLOCK = /^(?:#|[-+*](?=\s|$)|([-*_~])\1\1)/;

/**
 * A section name as one line of plain text that keeps the report's structure whatever a model, a
 * `--plan` file or a reviewer wrote, placed after `## ` in a heading or after `- ` in a list:
 * 1. `plainLine` (on at most 6,400 code units of it: longer names are cut there first): terminal
 *    escapes, newlines, tabs, control and zero-width characters go, white space is collapsed, the
 *    name trimmed;
 * 2. backslash escapes already in the name are read as Markdown reads them (`\<` is `<`);
 * 3. the name is cut to `MAX_SECTION_NAME_LENGTH` user-perceived characters (ending in "…");
 * 4. Markdown and HTML that would change the structure is escaped with a backslash, so it shows
 *    as written: every `` ` ``, `<`, `>`, `[` and `]` (no code span or fence, HTML tag, autolink
 *    or `[x](javascript:...)` link), a backslash that comes before ASCII punctuation, the first
 *    character of a start that would open a block in a list item (`#`, `- `, `+ `, `* `, `---`,
 *    `***`, `___`, `~~~`, or the dot of `1. `), and a closing `#` sequence (`Intro #`).
 * The result is a fixed point: applying it again changes nothing, so names survive re-planning,
 * review edits and resumes unchanged. Empty when nothing visible is left.
 */
export function sectionName(name: string): string {
  // Cut before cleaning, far beyond what is kept, so that no pass runs over a pasted megabyte.
  const raw = name.slice(0, MAX_SECTION_NAME_LENGTH * RAW_LENGTH_PER_CHARACTER);
  let text = unescapeMarkdown(plainLine(raw));
  const characters = graphemes(text);
  if (characters.length > MAX_SECTION_NAME_LENGTH) {
    text = `${characters
      .slice(0, MAX_SECTION_NAME_LENGTH - 1)
      .join("")
      .trimEnd()}…`;
  }
  return escapeMarkdown(text);
}

/** Markdown's reading of backslash escapes: a backslash before ASCII punctuation is dropped. */
function unescapeMarkdown(text: string): string {
  return text.replace(/\\([!-/:-@[-`{-~])/g, "$1");
}

/** The inverse of `unescapeMarkdown` for the characters `sectionName` escapes. */
function escapeMarkdown(text: string): string {
  let result = "";
  for (let index = 0; index < text.length; index += 1) {
    const character = text[index]!;
    const next = text[index + 1] ?? "";
    if (character === "\\") result += /[!-/:-@[-`{-~]/.test(next) ? "\\\\" : "\\";
    else if (INLINE_SPECIAL.test(character)) result += `\\${character}`;
    else if (index === 0 && LEADING_BLOCK.test(text)) result += `\\${character}`;
    else result += character;
  }
  return result
    .replace(/^(\d{1,9})([.)])(?=\s|$)/, "$1\\$2")
    .replace(/(\s)(#+)$/, (_match, space: string, hashes: string) => `${space}\\${hashes}`);
}

/** A description with terminal escapes and control characters other than newlines and tabs removed. */
function plainDescription(description: string): string {
  return description
    .replace(TERMINAL_ESCAPE, "")
    .replace(/[^\P{Cc}\n\t]/gu, "")
    .trim();
}

/**
 * Gives every section a stable id (its own, or `s<position>`) and checks it: a name (made one
 * line of plain text by `sectionName`), a description, a text id without control or invisible
 * characters, unique within the plan, a `role` that is text, and `dependsOn` a list of section
 * ids (or names, or 1-based positions; see `resolveDependency`). `field` names the source in error
 * messages. Throws an `InvalidInputError` saying what to change.
 */
export function withIds(input: InputSection[], field: string): Section[] {
  const seen = new Set<string>();
  const sections = input.map((entry: unknown, index) => {
    const position = `${field}[${index}]`;
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
      throw new InvalidInputError({
        field: position,
        message: `${position} is not a section: give an object such as { "name": "...", "description": "..." }.`,
      });
    }
    const section = entry as Record<string, unknown>;
    const name = typeof section.name === "string" ? sectionName(section.name) : "";
    if (name === "") {
      throw new InvalidInputError({
        field: position,
        message: `${position} has no name: name every section${typeof section.name === "string" && section.name.trim() ? " with visible text" : ""}.`,
      });
    }
    const description =
      typeof section.description === "string" ? plainDescription(section.description) : "";
    if (description === "") {
      throw new InvalidInputError({
        field: position,
        message: `${position} ("${name}") has no description: say what the section covers.`,
      });
    }
    if (section.id !== undefined && section.id !== null && typeof section.id !== "string") {
      throw new InvalidInputError({
        field: position,
        message: `${position} ("${name}") has the id ${printable(JSON.stringify(section.id))}: an id must be text, such as "s${index + 1}".`,
      });
    }
    const id = section.id?.trim() || `s${index + 1}`;
    if (UNPRINTABLE.test(id)) {
      throw new InvalidInputError({
        field: position,
        message: `${position} ("${name}") has the id "${printable(id)}", with control or invisible characters: use letters, digits, - or _.`,
      });
    }
    if (seen.has(id)) {
      throw new InvalidInputError({
        field: position,
        message: `${position} repeats the section id "${id}": ids must be unique within a plan.`,
      });
    }
    seen.add(id);
    if (section.role !== undefined && section.role !== null && typeof section.role !== "string") {
      throw new InvalidInputError({
        field: position,
        message: `${position} ("${name}") has a role that is not text: role must be the name of a role on the roster, such as "generalist".`,
      });
    }
    const role =
      typeof section.role === "string" && section.role.trim() ? section.role.trim() : undefined;
    if (
      section.dependsOn !== undefined &&
      section.dependsOn !== null &&
      (!Array.isArray(section.dependsOn) ||
        section.dependsOn.some((item) => typeof item !== "string" && typeof item !== "number"))
    ) {
      throw new InvalidInputError({
        field: position,
        message: `${position} ("${name}"): dependsOn must be a list of section ids, such as ["s1", "s2"].`,
      });
    }
    const dependsOn = Array.isArray(section.dependsOn)
      ? [
          ...new Set(
            (section.dependsOn as (string | number)[])
              .map((dependency) => String(dependency).trim())
              .filter(Boolean),
          ),
        ]
      : [];
    return {
      id,
      name,
      description,
      ...(role ? { role } : {}),
      ...(dependsOn.length ? { dependsOn } : {}),
    };
  });
  const resolved = sections.map((section) =>
    section.dependsOn
      ? {
          ...section,
          dependsOn: section.dependsOn.map((name) =>
            resolveDependency(name, sections, section, field),
          ),
        }
      : section,
  );
  checkDependencies(resolved, field);
  return resolved;
}

/**
 * A dependency as models write it, as a section id: an id of the plan, else the exact name of one
 * section (case and spacing aside), else a 1-based position ("2" or 2). A name two sections share
 * is refused, as is anything else; an unknown id is left for `checkDependencies` to refuse.
 */
function resolveDependency(
  given: string,
  sections: Section[],
  section: Section,
  field: string,
): string {
  if (sections.some((candidate) => candidate.id === given)) return given;
  // Names are compared as the plan holds them (see `sectionName`), and as given.
  const wanted = new Set([given.trim().toLowerCase(), sectionName(given).toLowerCase()]);
  const named = sections.filter((candidate) => wanted.has(candidate.name.toLowerCase()));
  if (named.length > 1) {
    throw new InvalidInputError({
      field,
      message: `Section ${section.id} ("${section.name}") depends on "${printable(given)}", a name ${named.length} sections share: name the section by its id.`,
    });
  }
  if (named.length === 1) return named[0]!.id;
  const position = /^\d+$/.test(given) ? Number(given) : NaN;
  if (position >= 1 && position <= sections.length) return sections[position - 1]!.id;
  return given;
}

/**
 * Checks that every `dependsOn` names another section of the plan and that the dependencies have
 * no cycle (so every section can be written in some wave). Throws with what is wrong.
 */
export function checkDependencies(
  sections: { id: string; name: string; dependsOn?: string[] }[],
  field: string,
  noun = "section",
): void {
  const Noun = `${noun[0]!.toUpperCase()}${noun.slice(1)}`;
  const ids = new Set(sections.map((section) => section.id));
  for (const section of sections) {
    for (const dependency of section.dependsOn ?? []) {
      if (dependency === section.id || !ids.has(dependency)) {
        throw new InvalidInputError({
          field,
          message: `${Noun} ${section.id} ("${section.name}") depends on "${printable(dependency)}", which is ${dependency === section.id ? "itself" : `not a ${noun} id of the plan`}.`,
        });
      }
    }
  }
  const done = new Set<string>();
  let remaining = sections;
  while (remaining.length > 0) {
    const ready = remaining.filter((section) =>
      (section.dependsOn ?? []).every((id) => done.has(id)),
    );
    if (ready.length === 0) {
      throw new InvalidInputError({
        field,
        message: `The ${noun}s ${remaining.map((section) => section.id).join(", ")} depend on each other in a cycle: no order can ${noun === "section" ? "write" : "run"} them.`,
      });
    }
    for (const section of ready) done.add(section.id);
    remaining = remaining.filter((section) => !done.has(section.id));
  }
}

/**
 * Gives each section its writer's role. With the default roster nothing changes (no role). With a
 * configured roster, a section keeps the role it names (which must be on the roster) and a section
 * without one gets the roster's first role.
 */
export function assignRoles(plan: Section[], roles: Role[]): Section[] {
  const names = roles.map((role) => role.name);
  const isDefault = JSON.stringify(roles) === JSON.stringify(DEFAULT_ROLES);
  return plan.map((section) => {
    if (section.role !== undefined && !names.includes(section.role)) {
      throw new InvalidInputError({
        field: "sections",
        message: `Section "${section.name}" names the role "${section.role}", which is not on the roster (${names.join(", ")}).`,
      });
    }
    if (isDefault) return section.role === undefined ? section : { ...section, role: undefined };
    return { ...section, role: section.role ?? names[0] };
  });
}
