/**
 * Every relative link in README.md and docs/*.md resolves: the file or folder exists, and an
 * `#anchor` names a heading of the page it points to (GitHub's heading anchors). And every docs
 * page opens with what a user wants to do.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { anchorsOf, linksOf, slugOf } from "../helpers/markdown.js";

const ROOT = resolve(".");
const DOCUMENTS = [
  "README.md",
  ...readdirSync(join(ROOT, "docs"))
    .filter((name) => name.endsWith(".md"))
    .map((name) => `docs/${name}`),
];

/** What is wrong with each relative link of `document` (its `text`), as `document:line target: why`. */
function brokenLinks(
  document: string,
  text = readFileSync(join(ROOT, document), "utf8"),
): string[] {
  const broken: string[] = [];
  for (const { target, line } of linksOf(text)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto: ...
    const [path = "", anchor] = target.split("#", 2);
    const where = `${document}:${line} ${target}`;
    if (path === "") {
      // An anchor on the same page.
      if (!anchorsOf(text).has(decodeURIComponent(anchor ?? ""))) {
        broken.push(`${where}: no heading with that anchor on this page`);
      }
      continue;
    }
    const file = resolve(ROOT, dirname(document), path);
    if (!file.startsWith(ROOT)) {
      broken.push(`${where}: outside the repository`);
    } else if (!existsSync(file)) {
      broken.push(`${where}: ${relative(ROOT, file)} does not exist`);
    } else if (anchor !== undefined) {
      if (statSync(file).isDirectory() || !file.endsWith(".md")) {
        broken.push(`${where}: an anchor into something that is not a Markdown page`);
      } else if (!anchorsOf(readFileSync(file, "utf8")).has(decodeURIComponent(anchor))) {
        broken.push(`${where}: no heading with that anchor in ${relative(ROOT, file)}`);
      }
    }
  }
  return broken;
}

describe("the documentation's links", () => {
  test.each(DOCUMENTS)("every relative link and anchor in %s resolves", (document) => {
    expect(brokenLinks(document)).toEqual([]);
  });

  test.each(DOCUMENTS.filter((document) => document.startsWith("docs/")))(
    "%s starts with what a user wants to do",
    (document) => {
      const text = readFileSync(join(ROOT, document), "utf8");
      // The first paragraph after the title (a generated page's HTML comment aside).
      const opening = text
        .split("\n\n")
        .slice(1)
        .find((paragraph) => !paragraph.startsWith("<!--"));
      expect(opening).toMatch(/^You want /);
    },
  );

  test("the checker finds a missing file, a missing anchor and a link outside the repository", () => {
    const probe = [
      "# Probe",
      "[fine](#probe) [fine](../README.md#quick-start-fresh-machine-node-20) [folder](../examples/)",
      "[gone](missing.md) [no heading](../README.md#no-such-heading) [out](../../etc/passwd)",
      "[here, no heading](#nowhere) [web](https://example.com/missing.md)",
      "`[in code](missing-too.md)`",
      "",
      "```md",
      "[in a block](missing-as-well.md)",
      "```",
    ].join("\n");
    expect(brokenLinks("docs/probe.md", probe)).toEqual([
      "docs/probe.md:3 missing.md: docs/missing.md does not exist",
      "docs/probe.md:3 ../README.md#no-such-heading: no heading with that anchor in README.md",
      "docs/probe.md:3 ../../etc/passwd: outside the repository",
      "docs/probe.md:4 #nowhere: no heading with that anchor on this page",
    ]);
  });

  test("anchors are GitHub's: lower case, punctuation out, code marks out, repeats numbered", () => {
    expect(slugOf("The building block: `createOrchestratorWorkers`")).toBe(
      "the-building-block-createorchestratorworkers",
    );
    expect(slugOf("Quick start (fresh machine, Node 20)")).toBe(
      "quick-start-fresh-machine-node-20",
    );
    expect(slugOf("Workers on another machine: `RemoteGraph`")).toBe(
      "workers-on-another-machine-remotegraph",
    );
    expect(slugOf("One thread, one run, in the library too")).toBe(
      "one-thread-one-run-in-the-library-too",
    );
    expect([...anchorsOf("# Usage\n\n## Usage\n\n### Usage\n")]).toEqual([
      "usage",
      "usage-1",
      "usage-2",
    ]);
  });
});
