import { checkCitations, citationSummary, citedClaims } from "../../src/schemas/citations.js";
import type { RetrievedSource } from "../../src/schemas/citations.js";

const retrieved: RetrievedSource[] = [
  {
    source: { key: "docs/tides.md:1-4", title: "docs/tides.md", location: "lines 1-4" },
    text: "The moon pulls the sea.",
  },
  {
    source: { key: "docs/sun.md:3-9", title: "docs/sun.md", location: "lines 3-9" },
    text: "The sun pulls too, less.",
  },
  {
    source: {
      key: "wikipedia:Tide",
      title: "Tide",
      location: "https://en.wikipedia.org/wiki/Tide",
    },
    text: "Tides are the rise and fall of sea levels.",
  },
];

describe("checkCitations", () => {
  test("keeps [key] citations and splits cited from consulted, in reading order", () => {
    const checked = checkCitations(
      "The sun pulls [docs/sun.md:3-9]. The moon too [docs/tides.md:1-4].",
      retrieved,
      "keys",
    );
    expect(checked.content).toBe(
      "The sun pulls [docs/sun.md:3-9]. The moon too [docs/tides.md:1-4].",
    );
    expect(checked.cited.map((source) => source.key)).toEqual([
      "docs/sun.md:3-9",
      "docs/tides.md:1-4",
    ]);
    expect(checked.consulted.map((source) => source.key)).toEqual(["wikipedia:Tide"]);
    expect(checked.fabricated).toEqual([]);
  });

  test("a key no tool returned is removed and reported; a real one beside it stays", () => {
    const checked = checkCitations(
      "Tides rise twice a day [docs/made-up.md:1-9]. The moon pulls [docs/tides.md:1-4].",
      retrieved,
      "keys",
    );
    expect(checked.content).toBe("Tides rise twice a day. The moon pulls [docs/tides.md:1-4].");
    expect(checked.fabricated).toEqual(["docs/made-up.md:1-9"]);
    expect(checked.cited.map((source) => source.key)).toEqual(["docs/tides.md:1-4"]);
  });

  test("[n] means the n-th source given; a number past them is fabricated", () => {
    const checked = checkCitations(
      "First [1]. Both [1, 2]. Third [3]. Nope [7].",
      retrieved,
      "keys",
    );
    expect(checked.content).toBe(
      "First [docs/tides.md:1-4]. Both [docs/tides.md:1-4][docs/sun.md:3-9]. Third [wikipedia:Tide]. Nope.",
    );
    expect(checked.fabricated).toEqual(["[7]"]);
  });

  test("(source: path), bare keys and a file without lines map to the key when unambiguous", () => {
    const checked = checkCitations(
      "The moon (source: docs/tides.md). The sun, see docs/sun.md:3-9 for more. Tide [Tide].",
      retrieved,
      "keys",
    );
    expect(checked.content).toBe(
      "The moon [docs/tides.md:1-4]. The sun, see [docs/sun.md:3-9] for more. Tide [wikipedia:Tide].",
    );
    expect(checked.fabricated).toEqual([]);
  });

  test("a file two sources share is ambiguous: left as written, not called fabricated", () => {
    const two: RetrievedSource[] = [
      { source: { key: "a.md:1-3", title: "a.md", location: "lines 1-3" }, text: "x" },
      { source: { key: "a.md:5-9", title: "a.md", location: "lines 5-9" }, text: "y" },
    ];
    const checked = checkCitations("Text (source: a.md). More [a.md].", two, "keys");
    expect(checked.content).toBe("Text (source: a.md). More [a.md].");
    expect(checked.fabricated).toEqual([]);
  });

  test("leaves links, footnotes, task boxes, prose brackets and code alone", () => {
    const text = [
      "See [the guide](https://example.org) and [ref][1] and [^1].",
      "- [ ] todo, - [x] done, a note [as said above], at [10:30], a ratio [3:2].",
      "`arr[docs/x.md:1-2]` and",
      "```\nconst y = z[docs/y.md:3-4];\n```",
      "[1]: https://example.org",
    ].join("\n");
    const checked = checkCitations(text, retrieved, "keys");
    expect(checked.content).toBe(text);
    expect(checked.fabricated).toEqual([]);
  });

  test("without retrieved sources, key-like citations are fabricated but numbers are prose", () => {
    const checked = checkCitations("A claim [wikipedia:Moon]. A list [1, 2].", [], "keys");
    expect(checked.content).toBe("A claim. A list [1, 2].");
    expect(checked.fabricated).toEqual(["wikipedia:Moon"]);
  });

  test("mode off keeps the text as written", () => {
    const text = "Made up [docs/made-up.md:1-9]. First [1].";
    const checked = checkCitations(text, retrieved, "off");
    expect(checked.content).toBe(text);
    expect(checked.fabricated).toEqual([]);
    expect(checked.consulted).toHaveLength(3);
  });
});

describe("citedClaims", () => {
  test("one claim per sentence and cited key, the sentence kept as written", () => {
    const content =
      "The moon pulls the sea [docs/tides.md:1-4]. The sun\npulls too [docs/sun.md:3-9] [docs/tides.md:1-4].\n\nNo citation here.";
    const claims = citedClaims(content, new Set(["docs/tides.md:1-4", "docs/sun.md:3-9"]));
    expect(claims).toEqual([
      { sentence: "The moon pulls the sea [docs/tides.md:1-4].", key: "docs/tides.md:1-4" },
      {
        sentence: "The sun\npulls too [docs/sun.md:3-9] [docs/tides.md:1-4].",
        key: "docs/sun.md:3-9",
      },
      {
        sentence: "The sun\npulls too [docs/sun.md:3-9] [docs/tides.md:1-4].",
        key: "docs/tides.md:1-4",
      },
    ]);
    for (const claim of claims) expect(content).toContain(claim.sentence);
  });
});

test("a citation written after the full stop belongs to the sentence before it", () => {
  const content = "Tides rise twice a day. [a] [b] Spring tides are big [a].";
  expect(citedClaims(content, new Set(["a", "b"]))).toEqual([
    { sentence: "Tides rise twice a day. [a] [b]", key: "a" },
    { sentence: "Tides rise twice a day. [a] [b]", key: "b" },
    { sentence: "Spring tides are big [a].", key: "a" },
  ]);
});

describe("citationSummary", () => {
  test("sums cited, checked and supported; accuracy only when something was checked", () => {
    expect(
      citationSummary([
        { citations: { cited: 3, checked: 2, supported: 1, fabricated: ["x:1"] }, consulted: [1] },
        { citations: { cited: 2, checked: 2, supported: 2 } },
        { citations: { cited: 1 } },
      ]),
    ).toEqual({ cited: 6, checked: 4, supported: 3, accuracy: 0.75, fabricated: 1, consulted: 1 });
    expect(citationSummary([{ citations: { cited: 2 } }])).toEqual({
      cited: 2,
      fabricated: 0,
      consulted: 0,
    });
  });
});

describe("the run's citation summary", () => {
  test("counts each planned section once, as the report does, when a section was written twice", async () => {
    const { createSynthesizerNode } = await import("../../src/nodes/synthesizer.js");
    const { ScriptedChatModel } = await import("../../src/testing/index.js");
    const synthesizer = createSynthesizerNode({ models: () => new ScriptedChatModel() });
    const section = (content: string, cited: number) => ({
      id: "s1",
      name: "Tides",
      content,
      model: "m",
      citations: { cited },
    });
    const update = await synthesizer(
      {
        topic: "Tides",
        plan: {
          topic: "Tides",
          sections: [{ id: "s1", name: "Tides", description: "d" }],
          status: "writing",
          source: "input",
          round: 1,
          revisions: 0,
        },
        // An earlier version and the one that replaced it: only the later counts.
        completedSections: [section("Old.", 3), section("New.", 1)],
        failedSections: [],
        modelCalls: [],
        warnings: [],
        report: "",
      } as never,
      {} as never,
    );
    expect(update.citations).toEqual({ cited: 1, fabricated: 0, consulted: 0 });
  });
});
