import type { BaseChatModelParams } from "@langchain/core/language_models/chat_models";
import { LocalChatModel, type LocalChatReply, type LocalChatRequest } from "./local-chat-model.js";
import { promptBlocks } from "../schemas/prompts.js";
import { sourcesIn } from "../schemas/sources.js";

/** Name the offline model reports; the synthesizer labels reports written with it. */
export const OFFLINE_MODEL_NAME = "offline-placeholder";

/** The notice that goes with anything the offline model wrote. */
export const OFFLINE_NOTICE =
  "Written by the offline placeholder model: no OPENAI_API_KEY or OPENAI_BASE_URL was set (or --offline was given). Set one of them for real content.";

const OUTLINE = [
  { name: "Introduction", description: 'What "{topic}" is about and why it matters.' },
  { name: "Background", description: 'The context and history needed to understand "{topic}".' },
  { name: "Key concepts", description: 'The main ideas and mechanisms behind "{topic}".' },
  { name: "Examples", description: 'Concrete examples of "{topic}" in practice.' },
  { name: "Conclusion", description: 'A summary of "{topic}" and the questions that remain open.' },
];

/**
 * A deterministic chat model that needs no network and no key. It plans a five-part outline,
 * writes clearly labelled placeholder sections, fills any structured-output schema with plausible
 * values (validated like any other model's output), and streams its text word by word. As the
 * section reviewer it fails every first draft once and passes the revision. Same input, same
 * output.
 */
export class OfflineChatModel extends LocalChatModel {
  readonly model = OFFLINE_MODEL_NAME;

  constructor(fields: BaseChatModelParams = {}) {
    super(fields);
  }

  override _llmType(): string {
    return "offline";
  }

  protected reply(request: LocalChatRequest): LocalChatReply {
    const blocks = promptBlocks(lastUserText(request));
    const topic = blocks.get("Report topic") ?? firstLine(lastUserText(request));
    const tool = request.tools.find((candidate) => candidate.name === request.toolChoice);
    // The reviewer fails every first draft once, so a run shows the review loop end to end.
    if (tool?.name === "review") {
      const first = (blocks.get("Revision") ?? "0").trim() === "0";
      const args = first
        ? {
            pass: false,
            feedback:
              "Offline placeholder review: give a concrete example (no model read this section; every first draft is sent back once).",
            followUpQueries: [],
          }
        : { pass: true, feedback: "", followUpQueries: [] };
      return { toolCalls: [{ name: tool.name, args }] };
    }
    if (tool) {
      const args = fill(tool.parameters, { topic, index: 0, key: "" });
      return { toolCalls: [{ name: tool.name, args: args as Record<string, unknown> }] };
    }
    const sectionName = blocks.get("Section name");
    if (!sectionName) return { content: `${OFFLINE_NOTICE}\n\nNo section was asked for.` };
    const toolOutputs = request.messages.filter((message) => message.getType() === "tool");
    const [firstTool] = request.tools;
    // With tools and nothing looked up yet, look the section up first, as a real model would.
    if (firstTool && toolOutputs.length === 0) {
      return {
        toolCalls: [
          {
            name: firstTool.name,
            args: queryArguments(firstTool.parameters, `${sectionName} ${topic}`),
          },
        ],
      };
    }
    // What the tools returned, or, for a revision, the sources put in its prompt.
    const keys = toolOutputs.length
      ? toolOutputs.flatMap((message) => sourcesIn(message.text).map((source) => source.key))
      : [...(blocks.get("Sources") ?? "").matchAll(/"key":"([^"]+)"/g)].map((match) => match[1]!);
    return {
      content: placeholderSection(
        topic,
        sectionName,
        blocks.get("Section description"),
        keys.slice(0, 2),
      ),
    };
  }
}

/** Arguments for a search-like tool: every string parameter gets the query. */
function queryArguments(
  parameters: Record<string, unknown>,
  query: string,
): Record<string, unknown> {
  const properties = (parameters as SchemaNode).properties ?? {};
  return Object.fromEntries(
    Object.entries(properties)
      .filter(([, property]) => property.type === "string")
      .map(([key]) => [key, query]),
  );
}

function placeholderSection(
  topic: string,
  name: string,
  description = "",
  citations: string[] = [],
): string {
  const scope = description.trim() || `${name}, as part of ${topic}.`;
  const cited = citations.length
    ? ` The sources found for it are ${citations.map((key) => `[${key}]`).join(" and ")}.`
    : "";
  return [
    `*Offline placeholder text: no model wrote this section.*`,
    "",
    `**Scope:** ${scope}`,
    "",
    `A real model would write the "${name}" section of the report on "${topic}" here, with the facts, examples and reasoning this part of the topic needs.${cited}`,
    "",
    `- What the reader should take away from "${name}".`,
    `- How "${name}" connects to the rest of the report.`,
  ].join("\n");
}

/** The parts of a JSON schema that `fill` reads. */
interface SchemaNode {
  type?: string | string[];
  const?: unknown;
  enum?: unknown[];
  anyOf?: SchemaNode[];
  oneOf?: SchemaNode[];
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  minItems?: number;
  maxItems?: number;
  minimum?: number;
}

interface FillContext {
  topic: string;
  index: number;
  key: string;
}

/** Fills a JSON schema with deterministic, plausible values. */
function fill(schema: SchemaNode, context: FillContext): unknown {
  if (schema.const !== undefined) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) {
    return schema.enum[context.index % schema.enum.length];
  }
  const options = schema.anyOf ?? schema.oneOf;
  if (options?.[0])
    return fill(options.find((option) => option.type !== "null") ?? options[0], context);
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== "null") : schema.type;
  switch (type) {
    case "object": {
      const properties = schema.properties ?? {};
      return Object.fromEntries(
        Object.entries(properties).map(([key, property]) => [
          key,
          fill(property, { ...context, key }),
        ]),
      );
    }
    case "array": {
      const items = schema.items ?? {};
      const isRecord = items.type === "object";
      const wanted = isRecord ? OUTLINE.length : 0;
      const minimum = typeof schema.minItems === "number" ? schema.minItems : 0;
      const maximum = typeof schema.maxItems === "number" ? schema.maxItems : Infinity;
      const length = Math.min(Math.max(wanted, minimum), maximum);
      return Array.from({ length }, (_, index) => fill(items, { ...context, index }));
    }
    case "integer":
    case "number":
      return typeof schema.minimum === "number" ? schema.minimum : 1;
    case "boolean":
      return true;
    default:
      return fillString(context);
  }
}

function fillString({ topic, index, key }: FillContext): string {
  const outline = OUTLINE[index % OUTLINE.length]!;
  if (key === "name" || key === "title") return outline.name;
  if (key === "description") return outline.description.replace("{topic}", topic);
  return `Placeholder ${key || "value"} for "${topic}".`;
}

function lastUserText(request: LocalChatRequest): string {
  const user = [...request.messages].reverse().find((message) => message.getType() === "human");
  return user?.text ?? "";
}

function firstLine(text: string): string {
  return text.trim().split("\n")[0]?.slice(0, 200) || "the topic";
}
