/**
 * Text cleaning against input sizes meant to cost time (issue 23): every pass over a topic or a
 * section name is linear, and the limits are checked before the expensive passes.
 */
import { InvalidInputError } from "../../src/errors.js";
import {
  graphemes,
  MAX_SECTION_NAME_LENGTH,
  MAX_TOPIC_LENGTH,
  plainLine,
  sectionName,
  validateInput,
} from "../../src/schemas/input.js";

/** Shortest of three timings of `run`, in milliseconds. */
function fastest(run: () => unknown): number {
  let best = Infinity;
  for (let round = 0; round < 3; round += 1) {
    const started = performance.now();
    run();
    best = Math.min(best, performance.now() - started);
  }
  return best;
}

/**
 * How much longer `clean` takes on ten times the input: about 10 when linear, about 100 when
 * quadratic. Each timing repeats `clean` until the small input has taken 20 milliseconds, so
 * that the timer's resolution does not decide.
 */
function growth(clean: (text: string) => unknown, unit: string, count: number): number {
  const small = unit.repeat(count);
  const large = unit.repeat(count * 10);
  clean(small); // compile first
  let repeats = 1;
  while (fastest(() => clean(small)) * repeats < 20 && repeats < 1024) repeats *= 2;
  const time = (text: string) =>
    fastest(() => {
      for (let round = 0; round < repeats; round += 1) clean(text);
    });
  const ratio = time(large) / Math.max(time(small), 0.001);
  return ratio;
}

/** Text a hostile topic, plan or model could send, one repeating unit each. */
const UNITS: [string, string][] = [
  ["zero-width spaces between letters", "ab\u200b"],
  ["zero-width joiners between letters", "ab\u200d"],
  ["emoji with joiners next to zero-width spaces", "\u{1F468}\u200d\u{1F469}\u200d\u{1F467}\u200b"],
  ["bidi controls and BOMs", "x\u202e\ufeff"],
  ["unterminated escape sequences", "\u001b]0;x\u001b["],
  ["plain words", "word "],
  ["Markdown specials", "\\# [x] `y` <z> "],
];

describe("text cleaning is linear in the input", () => {
  test.each(UNITS)("graphemes of %s: ten times the text, < 40 times the time", (_what, unit) => {
    expect(growth(graphemes, unit, 2_000)).toBeLessThan(40);
  });

  test("graphemes are the platform's, chunk edges included", () => {
    const segmenter = new Intl.Segmenter(undefined, { granularity: "grapheme" });
    const text = [
      "word ",
      "\u{1F468}\u200d\u{1F469}\u200d\u{1F467}",
      "\u{1F1EB}\u{1F1F7}\u{1F1E9}",
      "e\u0301",
      "\r\n",
      "a" + "\u0301".repeat(3000),
      "\u200b",
      "\u0915\u094d\u0937",
    ]
      .join("")
      .repeat(40);
    expect(graphemes(text)).toEqual(Array.from(segmenter.segment(text), (part) => part.segment));
  });

  test.each(UNITS)("plainLine on %s: ten times the text, < 40 times the time", (_what, unit) => {
    expect(growth(plainLine, unit, 2_000)).toBeLessThan(40);
  });

  test.each(UNITS)("sectionName on %s: ten times the text, < 40 times the time", (_what, unit) => {
    expect(growth(sectionName, unit, 2_000)).toBeLessThan(40);
  });

  test("a 1 MB topic is refused before it is cleaned, naming the limit", () => {
    const topic = "ab\u200b".repeat(350_000);
    const refuse = (text: string) => {
      try {
        validateInput({ topic: text });
      } catch (error) {
        return error;
      }
      throw new Error("accepted");
    };
    const error = refuse(topic);
    expect(InvalidInputError.isInstance(error)).toBe(true);
    expect((error as Error).message).toBe(
      `The topic is ${topic.length} characters long; shorten it to at most ${MAX_TOPIC_LENGTH}.`,
    );
    // Refusing a megabyte costs what refusing a tenth of one does: the text is never cleaned.
    const tenth = topic.slice(0, topic.length / 10);
    expect(
      fastest(() => refuse(topic)) /
        Math.max(
          fastest(() => refuse(tenth)),
          0.001,
        ),
    ).toBeLessThan(40);
  });

  test("a topic padded with invisible characters under the raw limit is still cleaned and accepted", () => {
    const topic = `How ${"\u200b".repeat(20_000)}tides work`;
    expect(validateInput({ topic }).topic).toBe("How tides work");
  });

  test("a 400 KB section name in a ready-made plan is cut to the limit, fast", () => {
    const name = `Intro ${"word ".repeat(80_000)}`;
    const started = performance.now();
    const [section] = validateInput({
      topic: "Tides",
      sections: [{ name, description: "All of it." }],
    }).sections!;
    const elapsed = performance.now() - started;
    expect(graphemes(section!.name)).toHaveLength(MAX_SECTION_NAME_LENGTH);
    expect(section!.name.startsWith("Intro word word")).toBe(true);
    expect(section!.name.endsWith("…")).toBe(true);
    // The cut name is a fixed point, as every section name is.
    expect(sectionName(section!.name)).toBe(section!.name);
    // Not a wall-clock bound on the machine, a sanity bound on the method: the old quadratic
    // passes took minutes here.
    expect(elapsed).toBeLessThan(5_000);
  });

  test("cleaning keeps what it kept: joiners between letters and inside emoji, nothing invisible", () => {
    expect(plainLine("\u200bمی\u200cخواهم\u200b")).toBe("می\u200cخواهم");
    expect(plainLine("a\u200b\u{1F468}\u200d\u{1F469}\u200b b")).toBe(
      "a\u{1F468}\u200d\u{1F469} b",
    );
    expect(plainLine("\u001b[31mred\u001b[0m\ttext\u200d ")).toBe("red text");
  });
});
