import { InvalidInputError } from "../errors.js";
import type { InputSection, Section } from "./section.js";
import { DEFAULT_ROLES, type Role } from "./configuration.js";

/** Longest topic accepted, in characters: a topic is a subject or a question, not a document. */
export const MAX_TOPIC_LENGTH = 2000;

/** A validated run input: a trimmed topic and, when given, a ready-made plan with ids. */
export interface ValidatedInput {
  topic: string;
  sections?: Section[];
}

/**
 * Checks a run's input before any model is called and says what to change when it is unusable:
 * the topic must be non-blank and at most `MAX_TOPIC_LENGTH` characters; a ready-made plan must
 * have named, described sections with distinct ids. Sections without an id get `s<position>`.
 */
export function validateInput(input: { topic?: unknown; sections?: unknown }): ValidatedInput {
  if (typeof input.topic !== "string" || input.topic.trim() === "") {
    throw new InvalidInputError({
      field: "topic",
      message: "The topic is empty: give the subject or question the report is about.",
    });
  }
  const topic = input.topic.trim();
  if (topic.length > MAX_TOPIC_LENGTH) {
    throw new InvalidInputError({
      field: "topic",
      message: `The topic is ${topic.length} characters long; shorten it to at most ${MAX_TOPIC_LENGTH}.`,
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

/**
 * Gives every section a stable id (its own, or `s<position>`) and checks names, descriptions and
 * uniqueness of ids. `field` names the source in error messages.
 */
export function withIds(input: InputSection[], field: string): Section[] {
  const seen = new Set<string>();
  const sections = input.map((section, index) => {
    const position = `${field}[${index}]`;
    if (typeof section?.name !== "string" || section.name.trim() === "") {
      throw new InvalidInputError({
        field: position,
        message: `${position} has no name: name every section.`,
      });
    }
    if (typeof section.description !== "string" || section.description.trim() === "") {
      throw new InvalidInputError({
        field: position,
        message: `${position} ("${section.name}") has no description: say what the section covers.`,
      });
    }
    const id = section.id?.trim() || `s${index + 1}`;
    if (seen.has(id)) {
      throw new InvalidInputError({
        field: position,
        message: `${position} repeats the section id "${id}": ids must be unique within a plan.`,
      });
    }
    seen.add(id);
    const role =
      typeof section.role === "string" && section.role.trim() ? section.role.trim() : undefined;
    const dependsOn = Array.isArray(section.dependsOn)
      ? [
          ...new Set(
            (section.dependsOn as unknown[])
              .map((dependency) => String(dependency).trim())
              .filter(Boolean),
          ),
        ]
      : [];
    return {
      id,
      name: section.name.trim(),
      description: section.description.trim(),
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
  const named = sections.filter(
    (candidate) => candidate.name.trim().toLowerCase() === given.trim().toLowerCase(),
  );
  if (named.length > 1) {
    throw new InvalidInputError({
      field,
      message: `Section ${section.id} ("${section.name}") depends on "${given}", a name ${named.length} sections share: name the section by its id.`,
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
export function checkDependencies(sections: Section[], field: string): void {
  const ids = new Set(sections.map((section) => section.id));
  for (const section of sections) {
    for (const dependency of section.dependsOn ?? []) {
      if (dependency === section.id || !ids.has(dependency)) {
        throw new InvalidInputError({
          field,
          message: `Section ${section.id} ("${section.name}") depends on "${dependency}", which is ${dependency === section.id ? "itself" : "not a section id of the plan"}.`,
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
        message: `The sections ${remaining.map((section) => section.id).join(", ")} depend on each other in a cycle: no order can write them.`,
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
