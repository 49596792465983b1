/** The --sources loader against a file too large to index (issue 23). */
import { mkdtemp, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InvalidInputError } from "../../src/errors.js";
import { createSourcesTool, MAX_SOURCE_FILE_BYTES } from "../../src/tools/sources.js";

async function directoryWith(files: Record<string, string | number>): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), "hostile-sources-"));
  for (const [name, content] of Object.entries(files)) {
    const path = join(directory, name);
    if (typeof content === "string") await writeFile(path, content);
    else {
      // A sparse file: its size without writing its bytes.
      await writeFile(path, "");
      await truncate(path, content);
    }
  }
  return directory;
}

describe("a --sources file over the size limit", () => {
  test("is skipped with one warning naming it; the other files are searched", async () => {
    const directory = await directoryWith({
      "tides.md": "# Tides\n\nThe moon pulls the oceans.\n",
      "dump.txt": MAX_SOURCE_FILE_BYTES + 1,
    });
    const warnings: string[] = [];
    const search = await createSourcesTool({
      directory,
      onWarning: (message) => warnings.push(message),
    });
    expect(warnings).toEqual([
      "--sources: skipped dump.txt (4.0 MiB, over the 4 MiB a source file may have): split it, or keep only the part to cite.",
    ]);
    const found = String(await search.invoke({ query: "moon" }));
    expect(found).toContain("tides.md");
    expect(found).not.toContain("dump.txt");
  });

  test("a file at the limit is read", async () => {
    const directory = await directoryWith({ "notes.txt": "Moon.\n".padEnd(2048, " ") });
    const warnings: string[] = [];
    await createSourcesTool({ directory, maxFileBytes: 2048, onWarning: (m) => warnings.push(m) });
    expect(warnings).toEqual([]);
  });

  test("when every file is over the limit, the error says so", async () => {
    const directory = await directoryWith({ "big.md": "x".repeat(3000) });
    const warnings: string[] = [];
    const error = await createSourcesTool({
      directory,
      maxFileBytes: 1024,
      onWarning: (message) => warnings.push(message),
    }).catch((caught: unknown) => caught);
    expect(InvalidInputError.isInstance(error)).toBe(true);
    expect((error as Error).message).toBe(
      `${directory} holds no Markdown or text files of at most 1 KiB: give --sources a directory of smaller .md or .txt files.`,
    );
    expect(warnings).toHaveLength(1);
  });
});
