/**
 * A plan answered as a Markdown list instead of JSON (issue 22, item 5): the list reader, and the
 * planner that falls back to it, with a warning, only where the schema asks for named items.
 */
import { HumanMessage } from "@langchain/core/messages";
import { z, type ZodType } from "zod";
import { PlanError } from "../../src/errors.js";
import {
  MAX_LIST_TEXT_LENGTH,
  findJson,
  readMarkdownList,
  withoutReasoning,
} from "../../src/models/answer-text.js";
import { planWithModel } from "../../src/models/planner.js";
import { askStructured } from "../../src/models/structured-output.js";
import { planSchemaFor } from "../../src/schemas/plan.js";
import { sectionsWithIds } from "../../src/schemas/state.js";
import { ScriptedChatModel } from "../../src/testing/index.js";

const read = (text: string, maxItems = 8) => readMarkdownList(text, { maxItems });
const names = (text: string, maxItems = 8) => read(text, maxItems)?.items.map((item) => item.name);

const TIDES = [
  { name: "Moon", description: "The moon's pull." },
  { name: "Sun", description: "The sun's pull." },
  { name: "Summary", description: "What both add up to." },
];

describe("readMarkdownList", () => {
  test.each([
    [
      "1. **Name** - description",
      "1. **Moon** - The moon's pull.\n2. **Sun** - The sun's pull.\n3. **Summary** - What both add up to.",
    ],
    [
      "1. Name: description",
      "1. Moon: The moon's pull.\n2. Sun: The sun's pull.\n3. Summary: What both add up to.",
    ],
    [
      "- **Name**: description",
      "- **Moon**: The moon's pull.\n- **Sun**: The sun's pull.\n- **Summary**: What both add up to.",
    ],
    [
      "1) **Name:** description",
      "1) **Moon:** The moon's pull.\n2) **Sun:** The sun's pull.\n3) **Summary:** What both add up to.",
    ],
    [
      "* __Name__ — description",
      "* __Moon__ — The moon's pull.\n* __Sun__ – The sun's pull.\n* __Summary__ — What both add up to.",
    ],
    [
      "a loose list between prose",
      "Here is the plan:\n\n1. **Moon** - The moon's pull.\n\n2. **Sun** - The sun's pull.\n\n3. **Summary** - What both add up to.\n\nLet me know if you want changes.",
    ],
    [
      "after a <think> block",
      "<think>\nThe user wants sections. 1. **Not** - this one.\n</think>\n\n1. **Moon** - The moon's pull.\n2. **Sun** - The sun's pull.\n3. **Summary** - What both add up to.",
    ],
    [
      "with Windows line ends",
      "1. **Moon** - The moon's pull.\r\n2. **Sun** - The sun's pull.\r\n3. **Summary** - What both add up to.\r\n",
    ],
  ])("%s", (_form, text) => {
    expect(read(text)).toEqual({ items: TIDES, more: false });
  });

  test("Markdown emphasis and code marks are stripped from names, not from descriptions", () => {
    expect(
      read(
        "1. **_Moon_** - The *moon's* pull.\n2. *Sun*: The sun.\n3. `Tide tables`: Reading them.",
      ),
    ).toEqual({
      items: [
        { name: "Moon", description: "The *moon's* pull." },
        { name: "Sun", description: "The sun." },
        { name: "Tide tables", description: "Reading them." },
      ],
      more: false,
    });
  });

  test("nested bullets are not items of their own; a name alone takes them as its description", () => {
    const text = [
      "1. **Moon** - The moon's pull.",
      "   - gravity",
      "   - orbit",
      "2. **Sun**",
      "   - its mass",
      "   - its distance",
      "3. **Summary**: What both add up to.",
      "    1. a nested numbered item",
    ].join("\n");
    expect(read(text)).toEqual({
      items: [
        { name: "Moon", description: "The moon's pull." },
        { name: "Sun", description: "its mass; its distance" },
        { name: "Summary", description: "What both add up to." },
      ],
      more: false,
    });
  });

  test("a list inside a code fence is not read; one after the fence is", () => {
    const fenced =
      "For example:\n```markdown\n1. **Moon** - The moon's pull.\n2. **Sun** - The sun's pull.\n```";
    expect(read(fenced)).toBeUndefined();
    expect(read(`${fenced.replace("```markdown", "~~~").replace(/```$/, "~~~")}`)).toBeUndefined();
    expect(names(`${fenced}\n\nThe plan:\n\n1. **Tides** - What they are.`)).toEqual(["Tides"]);
  });

  test("a numbered list that is prose is not a plan", () => {
    expect(
      read(
        "I would approach it like this:\n1. First, we look at the moon, which pulls the sea.\n2. Then the sun adds its own, weaker pull.\n3. Finally, the two combine into spring and neap tides.",
      ),
    ).toBeUndefined();
    // Steps written as sentences, with no name and description to tell apart.
    expect(read("1. Open the tide table.\n2. Find today's date.")).toBeUndefined();
    // Names with nothing said about them.
    expect(read("1. Moon\n2. Sun\n3. Summary")).toBeUndefined();
    // A list is read whole or not at all.
    expect(
      read("1. **Moon** - The moon's pull.\n2. Then we add the sun, which pulls too."),
    ).toBeUndefined();
    // No usable item at all: nothing, never an empty plan.
    expect(read("")).toBeUndefined();
    expect(read("The plan has no list.")).toBeUndefined();
    expect(read("1. - - -\n2. **:** -")).toBeUndefined();
  });

  test("a prose list before the plan is passed over", () => {
    expect(
      names(
        "Things to keep in mind:\n1. Keep it short.\n2. Cite sources.\n\nThe sections:\n1. Moon: The moon's pull.\n2. Sun: The sun's pull.",
      ),
    ).toEqual(["Moon", "Sun"]);
  });

  test("at most maxItems items are taken, and `more` says the list went on", () => {
    const list = (count: number) =>
      Array.from(
        { length: count },
        (_, index) => `${index + 1}. **Part ${index + 1}** - Part ${index + 1}.`,
      ).join("\n");
    expect(read(list(20), 8)).toEqual({
      items: Array.from({ length: 8 }, (_, index) => ({
        name: `Part ${index + 1}`,
        description: `Part ${index + 1}.`,
      })),
      more: true,
    });
    expect(read(list(8), 8)?.more).toBe(false);
    expect(read(list(1), 8)?.items).toEqual([{ name: "Part 1", description: "Part 1." }]);
  });

  test("text past MAX_LIST_TEXT_LENGTH is never read", () => {
    const padding = "Some prose. ".repeat(Math.ceil(MAX_LIST_TEXT_LENGTH / 12));
    expect(read(`${padding}\n\n1. **Moon** - The moon's pull.`)).toBeUndefined();
    expect(names(`1. **Moon** - The moon's pull.\n\n${padding}`)).toEqual(["Moon"]);
  });
});

describe("reading a hostile megabyte is bounded", () => {
  const MEGABYTE = 1_000_000;
  // Each of these took seconds to minutes with patterns that backtrack or rescan (quadratic). The
  // check is the growth, not a time: ten times the text must cost about ten times as much, never
  // a hundred (the shortest of three runs each, so a busy machine does not decide it).
  const HOSTILE: [string, (size: number) => string][] = [
    ["one item a megabyte long", (size) => `1. ${"a".repeat(size)}`],
    ["an emphasis never closed", (size) => `1. **${"*".repeat(size)}`],
    ["separators only", (size) => `1. ${" - ".repeat(size / 3)}`],
    ["colons only", (size) => `1. ${": ".repeat(size / 2)}`],
    ["reasoning tags never closed", (size) => "<think>".repeat(size / 7)],
    [
      "nested bullets ever deeper",
      (size) =>
        Array.from(
          { length: size / 50 },
          (_, depth) => `${" ".repeat(depth % 50)}- **x** - y`,
        ).join("\n"),
    ],
    ["fences never closed", (size) => "```\n1. **A** - a\n".repeat(size / 16)],
    ["braces never closed", (size) => "{".repeat(size)],
    ["arrays never closed", (size) => "[1, ".repeat(size / 4)],
  ];

  const cost = (text: string) => {
    let shortest = Infinity;
    for (let run = 0; run < 3; run += 1) {
      const started = performance.now();
      const listed = read(text);
      findJson(text);
      withoutReasoning(text);
      shortest = Math.min(shortest, performance.now() - started);
      expect(listed === undefined || listed.items.length <= 8).toBe(true);
    }
    return shortest;
  };

  test.each(HOSTILE)("%s", (_name, make) => {
    const small = cost(make(MEGABYTE / 10));
    const large = cost(make(MEGABYTE));
    // Linear is 10x; quadratic is 100x. A floor of 5 ms keeps timer noise out of a fast case.
    expect(large).toBeLessThan(40 * Math.max(small, 5));
  });

  test("a megabyte of plan lines gives maxItems sections", () => {
    expect(read("- **Moon** - The moon's pull.\n".repeat(MEGABYTE / 30), 8)?.items).toHaveLength(8);
  });

  test("reasoning blocks are still removed as before", () => {
    expect(withoutReasoning("<think>a</think>b<THINKING>c</thinking> d")).toBe("b d");
    expect(withoutReasoning("reasoning whose opening tag was dropped</think>answer")).toBe(
      "answer",
    );
    expect(withoutReasoning("answer<think>cut off inside its reasoning")).toBe("answer");
    expect(withoutReasoning('{"a": 1}')).toBe('{"a": 1}');
    expect(findJson('<think>{not json}</think>\nHere: {"sections": []} and more')).toEqual({
      sections: [],
    });
  });
});

describe("a planner whose model answers the plan as a Markdown list", () => {
  const LIST =
    "<think>\nSections...\n</think>\n\n1. **Moon** - The moon's pull.\n2. **Sun** - The sun's pull.\n3. **Summary** - What both add up to.";
  const modelAnswering = (content: string) => new ScriptedChatModel({ act: () => ({ content }) });
  const messages = [new HumanMessage("Plan a report on tides.")];

  function plan(options: { content?: string; roles?: string[]; maxSections?: number } = {}) {
    const model = modelAnswering(options.content ?? LIST);
    const warnings: string[] = [];
    const planned = planWithModel({
      model,
      schema: planSchemaFor(options.roles ?? []),
      listKey: "sections",
      messages,
      configuration: {
        maxPlanAttempts: 2,
        maxSections: options.maxSections ?? 8,
        structuredOutput: "prompt",
      },
      withIds: sectionsWithIds,
      noun: "section",
      warnings,
    });
    return { model, warnings, planned };
  }

  test("gets a plan from the list, with a warning saying why, on the first attempt", async () => {
    const { model, warnings, planned } = plan();
    const { subtasks } = await planned;
    expect(subtasks.map((section) => [section.id, section.name, section.description])).toEqual([
      ["s1", "Moon", "The moon's pull."],
      ["s2", "Sun", "The sun's pull."],
      ["s3", "Summary", "What both add up to."],
    ]);
    expect(model.calls).toHaveLength(1);
    expect(warnings).toEqual([
      expect.stringMatching(
        /^The plan was read from a Markdown list because the model server returned no JSON \(3 sections, no dependencies between them\)/,
      ),
    ]);
  });

  test("a list longer than maxSections is cut, and the warning says so", async () => {
    const { warnings, planned } = plan({ maxSections: 2 });
    expect((await planned).subtasks.map((section) => section.name)).toEqual(["Moon", "Sun"]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /\(2 sections,.*went on past maxSections \(2\); the first 2 were kept\.$/,
    );
  });

  test("prose is still no plan: re-asked, then a PlanError", async () => {
    const { model, warnings, planned } = plan({
      content: "1. First, the moon, which pulls the sea.\n2. Then, the sun.",
    });
    await expect(planned).rejects.toThrow(/^No usable plan after 2 attempts: .*holds no JSON/);
    expect(model.calls).toHaveLength(2);
    expect(warnings).toEqual([]);
  });

  test("JSON that is off-schema is not replaced by a list next to it", async () => {
    const { planned } = plan({ content: `{"sections": "three"}\n\n${LIST}` });
    await expect(planned).rejects.toThrow(PlanError);
  });

  test("a plan whose sections need a role (several on the roster) is not guessed from a list", async () => {
    const { planned } = plan({ roles: ["physicist", "historian"] });
    await expect(planned).rejects.toThrow(/^No usable plan after 2 attempts/);
  });

  test.each<[string, ZodType]>([
    [
      "a subtask with a required field of its own",
      z.object({
        subtasks: z.array(
          z.object({ name: z.string(), description: z.string(), query: z.string() }),
        ),
      }),
    ],
    [
      "a subtask without a name and a description",
      z.object({ subtasks: z.array(z.object({ title: z.string(), query: z.string() })) }),
    ],
    [
      "more than the list at the top",
      z.object({
        subtasks: z.array(z.object({ name: z.string(), description: z.string() })),
        audience: z.string(),
      }),
    ],
  ])("no list is read for %s", async (_schema, schema) => {
    const answer = await askStructured({
      model: modelAnswering(LIST),
      schema,
      name: "plan",
      messages,
      strategy: "prompt",
      markdownList: { maxItems: 8 },
    });
    expect(answer.problem).toMatch(/holds no JSON/);
  });

  test("a call that does not ask for a list (the aggregator's, the reviewer's) never reads one", async () => {
    const answer = await askStructured({
      model: modelAnswering(LIST),
      schema: planSchemaFor([]),
      name: "plan",
      messages,
      strategy: "prompt",
    });
    expect(answer.problem).toMatch(/holds no JSON/);
  });
});
