/**
 * Control characters from outside (issue 23): a model's section text carrying escape sequences,
 * NUL and bidi overrides, and a model server's error message carrying an OSC title sequence, a
 * bell and a carriage return, through the real CLI and ChatOpenAI client. The report and the
 * stored run keep none of them; stderr shows them as escapes instead of acting on the terminal.
 */
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultPlan, startOpenAIServer, type OpenAIServer } from "../../src/testing/index.js";
import { storableText, terminalText } from "../../src/schemas/input.js";
import { completionReply } from "../helpers/replies.js";
import { runCli } from "../helpers/run-cli.js";

const PLAN = defaultPlan(2);
const HOSTILE = "\u001b]0;pwned\u0007\u001b[2J\u0000\u202eevil\u202c\r[9/9] done: forged";

/** Any C0 control but tab, newline and carriage return; DEL and C1; bidi controls. */
function controlsIn(text: string): string[] {
  return [...text].filter((character) => {
    const code = character.codePointAt(0)!;
    return (
      (code < 0x20 && !"\t\n\r".includes(character)) ||
      (code >= 0x7f && code <= 0x9f) ||
      (code >= 0x202a && code <= 0x202e) ||
      (code >= 0x2066 && code <= 0x2069)
    );
  });
}

describe("control characters from a model server", () => {
  let server: OpenAIServer | undefined;
  let directory: string;
  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), "hostile-controls-"));
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  test("section text with escapes, NUL and bidi overrides: the report and the stored run keep none", async () => {
    server = await startOpenAIServer({
      plan: PLAN,
      respond: (request) =>
        request.kind === "section"
          ? completionReply(request, `The moon pulls the sea. ${HOSTILE} Tides follow.`)
          : undefined,
    });
    const out = join(directory, "report.md");
    const db = join(directory, "runs.sqlite");
    const result = await runCli(["How tides work", "--out", out, "--db", db], {
      env: { OPENAI_BASE_URL: server.baseURL, OPENAI_API_KEY: "sk-test" },
      directory,
    });
    expect(result.stderr).not.toMatch(/^error/m);
    expect(result.code).toBe(0);
    const report = await readFile(out, "utf8");
    expect(report).toContain("The moon pulls the sea.");
    expect(report).toContain("Tides follow.");
    expect(controlsIn(report)).toEqual([]);
    expect(report).not.toContain("]0;pwned");
    expect(controlsIn(result.stderr)).toEqual([]);
    const stored = await readFile(db);
    expect(stored.includes(Buffer.from("\u202e"))).toBe(false);
    expect(stored.includes(Buffer.from("\u001b]0;pwned"))).toBe(false);
  }, 60_000);

  test("an error message with a title sequence, a bell and a carriage return is printed as escapes", async () => {
    server = await startOpenAIServer({
      plan: PLAN,
      respond: () => ({
        status: 400,
        body: { error: { message: `Bad request ${HOSTILE}`, type: "invalid_request_error" } },
      }),
    });
    const result = await runCli(["How tides work", "--out", join(directory, "r.md")], {
      env: { OPENAI_BASE_URL: server.baseURL, OPENAI_API_KEY: "sk-test" },
      directory,
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("Bad request");
    expect(controlsIn(result.stderr)).toEqual([]);
    expect(result.stderr).not.toMatch(/\r(?!\n)/);
    expect(result.stderr).toContain("\\u001b]0;pwned\\u0007");
  }, 60_000);
});

describe("storableText and terminalText", () => {
  test("stored text loses escapes and controls, keeps tabs, line ends and emoji", () => {
    expect(storableText("a\u001b[31mred\u001b[0m\u0000b\u202ec\r\n\td 👨‍👩‍👧")).toBe(
      "aredbc\r\n\td 👨‍👩‍👧",
    );
    expect(storableText("plain text\n")).toBe("plain text\n");
  });

  test("printed text shows every control as an escape, a lone carriage return included", () => {
    expect(terminalText("a\u001b]0;t\u0007b\rc\r\nd\u202eX\te")).toBe(
      "a\\u001b]0;t\\u0007b\\u000dc\nd\\u202eX\te",
    );
  });
});
