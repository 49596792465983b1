import { InvalidInputError } from "../../src/errors.js";
import {
  MAX_SECTION_NAME_LENGTH,
  graphemes,
  plainLine,
  printable,
  sectionName,
  validateInput,
  withIds,
} from "../../src/schemas/input.js";
import type { InputSection } from "../../src/schemas/section.js";

/** The message of the `InvalidInputError` that `action` throws. */
function refusal(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    expect(InvalidInputError.isInstance(error)).toBe(true);
    return (error as Error).message;
  }
  throw new Error("expected an InvalidInputError");
}

const FAMILY = "👨‍👩‍👧";

describe("plainLine", () => {
  test.each([
    ["Tides\nand\tcurrents", "Tides and currents"],
    ["\u001b[31mRed\u001b[0m tides", "Red tides"],
    ["\u001b]0;title\u0007Tides", "Tides"],
    ["Ti\u200bdes\u2060 \u202eevil", "Tides evil"],
    ["  many   spaces\u00a0\u3000here ", "many spaces here"],
    ["\u200b\u200c\u200d\ufeff", ""],
    ["\u0000\u0007\u007f\u0085", ""],
  ])("%j becomes %j", (given, expected) => {
    expect(plainLine(given)).toBe(expected);
  });

  test("keeps emoji whole (joiners, tags, skin tones) and joiners inside words", () => {
    for (const text of [FAMILY, "👩🏽‍💻", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "🇫🇷", "می‌خواهم"]) {
      expect(plainLine(text)).toBe(text);
    }
  });
});

describe("validateInput: the topic", () => {
  test("a topic of only control or zero-width characters is refused as having no visible text", () => {
    for (const topic of ["\u0007\u0001", "\u200b\u200d\u2060", "\u001b[31m\u001b[0m"]) {
      expect(refusal(() => validateInput({ topic }))).toMatch(/no visible characters/);
    }
  });

  test("terminal escape sequences are removed from the topic", () => {
    expect(validateInput({ topic: "\u001b[31mHow tides work\u001b[0m" }).topic).toBe(
      "How tides work",
    );
  });

  test("length counts user-perceived characters: 1,001 emoji are 1,001, 2,001 are too many", () => {
    expect(validateInput({ topic: FAMILY.repeat(1001) }).topic).toBe(FAMILY.repeat(1001));
    expect(refusal(() => validateInput({ topic: "😀".repeat(2001) }))).toBe(
      "The topic is 2001 characters long; shorten it to at most 2000.",
    );
  });
});

describe("sectionName", () => {
  test.each([
    ["Intro\n# Fake title\n## Fake section", "Intro # Fake title ## Fake section"],
    ["<script>alert(1)</script>", "\\<script\\>alert(1)\\</script\\>"],
    ["[x](javascript:alert(1))", "\\[x\\](javascript:alert(1))"],
    ["Intro ```js\nalert(1)\n```", "Intro \\`\\`\\`js alert(1) \\`\\`\\`"],
    ["# Heading", "\\# Heading"],
    ["- item", "\\- item"],
    ["1. First", "1\\. First"],
    ["---", "\\---"],
    ["~~~ fence", "\\~~~ fence"],
    ["Intro ##", "Intro \\##"],
    ["1.5 Gravity", "1.5 Gravity"],
    ["C# and F#", "C# and F#"],
    ["C:\\path", "C:\\path"],
    ["a\\<b", "a\\<b"],
    [`${FAMILY} Families`, `${FAMILY} Families`],
  ])("%j becomes %j", (given, expected) => {
    expect(sectionName(given)).toBe(expected);
  });

  test("is a fixed point: a name made safe stays as it is when checked again", () => {
    const samples = [
      "Intro\n# x",
      "a\\\\<b",
      "\\- x",
      "x \\#",
      "<<a>>",
      "\\",
      "[`]\\",
      "x".repeat(500),
    ];
    // A fixed pseudo-random sequence (a linear congruential generator) of tricky characters.
    const alphabet = ["\\", "<", ">", "[", "]", "`", "#", "-", "~", " ", "a", "1", ".", "\n", "*"];
    let state = 42;
    const next = () => (state = (state * 1103515245 + 12345) % 2 ** 31);
    for (let count = 0; count < 500; count += 1) {
      const length = 1 + (next() % 12);
      samples.push(Array.from({ length }, () => alphabet[next() % alphabet.length]).join(""));
    }
    for (const sample of samples) {
      const once = sectionName(sample);
      expect([sample, sectionName(once)]).toEqual([sample, once]);
    }
  });

  test(`is cut to ${MAX_SECTION_NAME_LENGTH} user-perceived characters, ending in "…"`, () => {
    const cut = sectionName(FAMILY.repeat(300));
    expect(graphemes(cut)).toHaveLength(MAX_SECTION_NAME_LENGTH);
    expect(cut.endsWith(`${FAMILY}…`)).toBe(true);
  });
});

describe("withIds: what a plan entry may hold", () => {
  const entry = { name: "Moon", description: "The moon's pull." };

  test("names become one line of plain text; a name of only invisible characters is no name", () => {
    const [section] = withIds(
      [{ name: "Intro\n# Fake\n<b>x</b>", description: "Text \u001b[31mred" }],
      "sections",
    );
    expect(section).toEqual({
      id: "s1",
      name: "Intro # Fake \\<b\\>x\\</b\\>",
      description: "Text red",
    });
    expect(refusal(() => withIds([{ name: "\u200b", description: "d" }], "sections"))).toBe(
      "sections[0] has no name: name every section with visible text.",
    );
  });

  test.each([
    [[{ id: 5 }], /^sections\[0\] has no name: name every section\.$/],
    [[{ ...entry, id: 5 }], /^sections\[0\] \("Moon"\) has the id 5: an id must be text/],
    [[{ ...entry, id: "s\u001b[31m" }], /has the id "s\\u001b\[31m", with control/],
    [[{ ...entry, dependsOn: "s2" }], /dependsOn must be a list of section ids/],
    [[{ ...entry, dependsOn: [{ id: "s2" }] }], /dependsOn must be a list of section ids/],
    [[{ ...entry, role: { name: "physicist" } }], /has a role that is not text/],
    [[5], /^sections\[0\] is not a section/],
    [[null], /^sections\[0\] is not a section/],
  ])("%j is refused with a clear message", (plan, message) => {
    expect(refusal(() => withIds(plan as unknown as InputSection[], "sections"))).toMatch(message);
  });

  test("a dependency may name a section by the name as given, before it was escaped", () => {
    const plan = withIds(
      [
        { name: "Vectors <T>", description: "d" },
        { name: "Use", description: "d", dependsOn: ["Vectors <T>"] },
      ],
      "sections",
    );
    expect(plan[1]!.dependsOn).toEqual(["s1"]);
  });

  test("a checked plan checked again is unchanged (re-planning, review edits, resumes)", () => {
    const once = withIds(
      [
        { name: "# A\n<b>", description: "d" },
        { name: "[x](y) `z`", description: "d", dependsOn: ["1"] },
      ],
      "sections",
    );
    expect(withIds(once, "sections")).toEqual(once);
  });
});

test("printable shows control and invisible characters as escapes", () => {
  expect(printable("a\u001b[31mb\u200bc\n")).toBe("a\\u001b[31mb\\u200bc\\u000a");
});
