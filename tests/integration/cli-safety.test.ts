/**
 * Issue 12, items 5, 6, 7 (the report file) and 9, through the real CLI in a child process: what
 * `--force` may replace, section names that cannot change the report's structure, a full disk and
 * a killed write leaving no debris, and bad input refused before anything is paid or written.
 * Every refusal is checked the same way: exit 2, one line on stderr, no request to the model
 * server, and the files on disk as they were.
 */
import { execFile, spawn } from "node:child_process";
import {
  chmod,
  link,
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  stat,
  symlink,
  unlink,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { parseArguments, prepareRun } from "../../src/cli/options.js";
import { defaultPlan, startOpenAIServer, type OpenAIServer } from "../../src/testing/index.js";
import { cleanEnvironment } from "../helpers/process.js";
import { runCli, type CliResult } from "../helpers/run-cli.js";

const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;
const FAMILY = "👨‍👩‍👧";

/** Every file and folder under `directory` (relative paths, sorted), with each file's size. */
async function snapshot(directory: string): Promise<string[]> {
  const entries: string[] = [];
  for (const entry of await readdir(directory, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    const info = await lstat(path);
    entries.push(`${path.slice(directory.length + 1)} ${info.isFile() ? info.size : info.mode}`);
  }
  return entries.sort();
}

/** Mounts a tmpfs of `size` on `directory` (only root can): false when this system does not allow it. */
async function mountTmpfs(directory: string, options: string): Promise<boolean> {
  if (!isRoot) return false;
  try {
    await run("mount", ["-t", "tmpfs", "-o", options, "tmpfs", directory]);
    return true;
  } catch {
    return false;
  }
}

/** Runs the CLI as the unprivileged user `nobody`, for faults root never meets (EACCES). */
function runCliAsNobody(args: string[], directory: string): Promise<CliResult> {
  // The built CLI, as tests/helpers/run-cli.ts runs it (tests/helpers/global-setup.js builds it).
  const child = spawn(process.execPath, [resolve("dist/cli/main.js"), ...args], {
    cwd: process.cwd(),
    env: { ...cleanEnvironment(), INIT_CWD: directory, HOME: tmpdir() },
    uid: 65534,
    gid: 65534,
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.end();
  return new Promise((resolvePromise, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => resolvePromise({ code, signal, stdout, stderr }));
  });
}

interface Refusal {
  /** The arguments after the topic; `{dir}` stands for the test's directory. */
  args: string[];
  message: RegExp;
  /** Makes what the case needs in the directory before the run. */
  setUp?: (directory: string) => Promise<void>;
  topic?: string;
  /** Runs the CLI as `nobody` (when the tests run as root). */
  asNobody?: boolean;
  /** Needs root (mknod); skipped otherwise. */
  rootOnly?: boolean;
}

/** A character device like /dev/null (major 1, minor 3) at `path`: only root can make one. */
async function makeNullDevice(path: string): Promise<void> {
  await run("mknod", ["-m", "666", path, "c", "1", "3"]);
}

/** The cases refused with exit 2, one line, no request and nothing written (issue 12 items 5 and 9). */
const REFUSALS: Record<string, Refusal> = {
  // Item 5: --force replaces only a regular file.
  "a FIFO as --out, with --force": {
    args: ["--out", "pipe.md", "--force"],
    message:
      /pipe\.md is a FIFO \(named pipe\), not a regular file: only a regular file can be replaced/,
    setUp: (directory) => run("mkfifo", [join(directory, "pipe.md")]).then(() => undefined),
  },
  // Not /dev/null itself: were the fault back, the test would replace the machine's /dev/null.
  "a device (a copy of /dev/null made with mknod) as --out, with --force": {
    args: ["--out", "null.md", "--force"],
    message: /^error: .*null\.md is a device, not a regular file/,
    setUp: (directory) => makeNullDevice(join(directory, "null.md")),
    rootOnly: true,
  },
  "a symbolic link to a file as --out, with --force": {
    args: ["--out", "link.md", "--force"],
    message: /link\.md is a symbolic link: give the path of a regular file/,
    setUp: async (directory) => {
      await writeFile(join(directory, "notes.md"), "my notes");
      await symlink("notes.md", join(directory, "link.md"));
    },
  },
  "a dangling symbolic link as --out": {
    args: ["--out", "dangling.md"],
    message: /dangling\.md is a symbolic link/,
    setUp: (directory) => symlink("nowhere/missing.md", join(directory, "dangling.md")),
  },
  "a directory as --out, with --force": {
    args: ["--out", "folder", "--force"],
    message: /folder is a directory: give a file path to --out/,
    setUp: (directory) => mkdir(join(directory, "folder")),
  },
  "-o sub/ (a trailing slash names a directory)": {
    args: ["-o", "sub/"],
    message: /--out sub\/ names a directory: give a file path, e.g\. sub\/report\.md/,
  },
  "--out equal to --db, with --force": {
    args: ["--db", "x", "-o", "x", "-f"],
    message: /x is the run database \(--db\): choose another --out path/,
  },
  "--out equal to --db by another spelling, with --force": {
    args: ["--db", "store.sqlite", "-o", "sub/../store.sqlite", "-f"],
    message: /store\.sqlite is the run database \(--db\)/,
    setUp: (directory) => mkdir(join(directory, "sub")),
  },
  "--out the default database's write-ahead log, with --force": {
    args: ["-o", ".orchestrator-workers/checkpoints.sqlite-wal", "-f"],
    message: /checkpoints\.sqlite-wal is a file of the run database/,
    setUp: (directory) => mkdir(join(directory, ".orchestrator-workers")),
  },
  // Item 9: bad input that slipped through.
  "a topic of only control characters": {
    topic: "\u0007\u0001\u007f",
    args: [],
    message: /The topic has no visible characters/,
  },
  "a topic of only zero-width characters": {
    topic: "\u200b\u200d\u2060\ufeff",
    args: [],
    message: /The topic has no visible characters/,
  },
  "a topic of 2,001 emoji": {
    topic: "😀".repeat(2001),
    args: [],
    message: /The topic is 2001 characters long; shorten it to at most 2000\./,
  },
  "a --thread id with a terminal escape sequence": {
    args: ["--thread", "\u001b[31mred"],
    message: /--thread "\\u001b\[31mred" has control or invisible characters/,
  },
  '--thread ""': { args: ["--thread", ""], message: /--thread is empty/ },
  'a plan entry {"id": 5}': {
    args: ["--plan", "plan.json"],
    message: /sections\[0\] has no name: name every section\./,
    setUp: (directory) => writeFile(join(directory, "plan.json"), '[{"id": 5}]'),
  },
  "a plan entry with a number as id": {
    args: ["--plan", "plan.json"],
    message: /sections\[0\] \("Moon"\) has the id 5: an id must be text, such as "s1"/,
    setUp: (directory) =>
      writeFile(join(directory, "plan.json"), '[{"id": 5, "name": "Moon", "description": "d"}]'),
  },
  "a string dependsOn": {
    args: ["--plan", "plan.json"],
    message: /dependsOn must be a list of section ids/,
    setUp: (directory) =>
      writeFile(
        join(directory, "plan.json"),
        JSON.stringify([
          { name: "Moon", description: "d" },
          { name: "Sun", description: "d", dependsOn: "s1" },
        ]),
      ),
  },
  "an object role": {
    args: ["--plan", "plan.json"],
    message: /has a role that is not text/,
    setUp: (directory) =>
      writeFile(
        join(directory, "plan.json"),
        JSON.stringify([{ name: "Moon", description: "d", role: { name: "physicist" } }]),
      ),
  },
  "a file in --sources that cannot be read": {
    args: ["--sources", "docs"],
    message: /Cannot read .*docs\/secret\.md \(EACCES\): make it readable, or move it out of/,
    asNobody: true,
    setUp: async (directory) => {
      await chmod(directory, 0o777);
      await mkdir(join(directory, "docs"), { mode: 0o755 });
      await chmod(join(directory, "docs"), 0o755);
      await writeFile(join(directory, "docs", "open.md"), "# Tides\n\nThe Moon pulls.\n");
      await writeFile(join(directory, "docs", "secret.md"), "# Secret\n");
      await chmod(join(directory, "docs", "secret.md"), 0o000);
    },
  },
  "--db a directory": {
    args: ["--db", "runs"],
    message: /--db .*runs is a directory: give the path of a SQLite file/,
    setUp: (directory) => mkdir(join(directory, "runs")),
  },
  '--db ""': { args: ["--db", ""], message: /--db is empty/ },
  "--db in a folder that does not exist": {
    args: ["--db", "missing/runs.sqlite"],
    message:
      /Cannot create the run database in .*missing: give --db a file in an existing, writable directory/,
  },
  "--max-sections 0x10": {
    args: ["--max-sections", "0x10"],
    message: /--max-sections.*give a whole number of 1 or more, in digits like 8/,
  },
  "--max-sections 1e3": {
    args: ["--max-sections", "1e3"],
    message: /--max-sections.*whole number of 1 or more, in digits like 8/,
  },
  "--max-concurrency 0b11": {
    args: ["--max-concurrency", "0b11"],
    message: /--max-concurrency.*whole number of 1 or more, in digits like 10/,
  },
  "--temperature 0x1": {
    args: ["--temperature", "0x1"],
    message: /--temperature.*a number from 0 to 2, in digits like 0\.2/,
  },
  "--request-timeout 0.5": {
    args: ["--request-timeout", "0.5"],
    message: /--request-timeout.*seconds from 1 to 86400/,
  },
};

describe("CLI safety (issue 12)", () => {
  let server: OpenAIServer | undefined;
  const mounts: string[] = [];

  afterEach(async () => {
    await server?.close();
    server = undefined;
    for (const mount of mounts.splice(0)) await run("umount", ["-l", mount]).catch(() => undefined);
  });

  test.concurrent.each(Object.entries(REFUSALS))(
    "refused, exit 2, one line, no model call, nothing written: %s",
    async (_name, refusal) => {
      if (refusal.rootOnly && !isRoot) return;
      const directory = await mkdtemp(join(tmpdir(), "report-safety-"));
      const own = await startOpenAIServer({ plan: defaultPlan(2) });
      try {
        await refusal.setUp?.(directory);
        const before = await snapshot(directory);
        const args = [refusal.topic ?? "Tides", ...refusal.args];
        if (!args.includes("--out") && !args.includes("-o")) args.push("--out", "r.md");
        const result =
          refusal.asNobody && isRoot
            ? await runCliAsNobody([...args, "--offline"], directory)
            : await runCli(args, { env: { OPENAI_BASE_URL: own.baseURL }, directory });
        expect(result.stderr).toMatch(refusal.message);
        expect(result.code).toBe(2);
        expect(result.stderr.trim().split("\n")).toHaveLength(1);
        expect(result.stderr).not.toContain("\u001b");
        expect(result.stdout).toBe("");
        expect(own.requests).toHaveLength(0);
        expect(await snapshot(directory)).toEqual(before);
      } finally {
        await own.close();
      }
    },
    // The cases run five at a time: each CLI start is slower than alone.
    120_000,
  );

  test("a device is still a device, and a link's target unchanged, after --force was refused", async () => {
    const directory = await mkdtemp(join(tmpdir(), "report-safety-"));
    await writeFile(join(directory, "notes.md"), "my notes");
    await symlink("notes.md", join(directory, "link.md"));
    const outs = ["link.md"];
    if (isRoot) {
      await makeNullDevice(join(directory, "null.md"));
      outs.push("null.md");
    }
    for (const out of outs) {
      const result = await runCli(["Tides", "--out", out, "--force"], { directory });
      expect(result.code).toBe(2);
    }
    if (isRoot) expect((await stat(join(directory, "null.md"))).isCharacterDevice()).toBe(true);
    expect(await readFile(join(directory, "notes.md"), "utf8")).toBe("my notes");
    expect((await lstat(join(directory, "link.md"))).isSymbolicLink()).toBe(true);
  });

  test("the run database is never replaced by the report: not by path, not through a hard link", async () => {
    const directory = await mkdtemp(join(tmpdir(), "report-safety-"));
    server = await startOpenAIServer({ plan: defaultPlan(2) });
    const env = { OPENAI_BASE_URL: server.baseURL };
    const first = await runCli(["Tides", "--db", "store.sqlite", "--out", "r.md"], {
      env,
      directory,
    });
    expect(first.code).toBe(0);
    await link(join(directory, "store.sqlite"), join(directory, "hard-link.md"));
    const requests = server.requests.length;
    for (const out of ["store.sqlite", "./store.sqlite", "hard-link.md"]) {
      const result = await runCli(["Tides", "--db", "store.sqlite", "-o", out, "-f"], {
        env,
        directory,
      });
      expect(result.stderr).toMatch(/is the run database \(--db\): choose another --out path/);
      expect(result.code).toBe(2);
    }
    expect(server.requests).toHaveLength(requests);
    const header = (await readFile(join(directory, "store.sqlite"))).subarray(0, 15).toString();
    expect(header).toBe("SQLite format 3");
  });

  test("--db in a folder that cannot be written (a read-only file system) is refused before anything is created", async () => {
    const directory = await mkdtemp(join(tmpdir(), "report-safety-"));
    const readOnly = join(directory, "read-only");
    await mkdir(readOnly);
    if (await mountTmpfs(readOnly, "ro,size=64k")) mounts.push(readOnly);
    else await chmod(readOnly, 0o555);
    if (isRoot && !mounts.includes(readOnly)) return; // root writes anywhere without the mount
    server = await startOpenAIServer({ plan: defaultPlan(2) });
    const result = await runCli(
      ["Tides", "--db", "read-only/runs.sqlite", "--out", join(directory, "r.md")],
      { env: { OPENAI_BASE_URL: server.baseURL }, directory },
    );
    expect(result.stderr).toMatch(/Cannot create the run database in .*read-only/);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(server.requests).toHaveLength(0);
    expect((await readdir(directory)).sort()).toEqual(["read-only"]);
  });

  test("a full disk for --out: no temporary file is left, the run says how to resume, and the resume writes the report with no model call", async () => {
    const directory = await mkdtemp(join(tmpdir(), "report-safety-"));
    const full = join(directory, "full");
    await mkdir(full);
    // A real full disk: a 64 KiB tmpfs filled to the last byte (needs root; skipped otherwise).
    if (!(await mountTmpfs(full, "size=64k"))) {
      console.warn("skipped: cannot mount a tmpfs here (needs root)");
      return;
    }
    mounts.push(full);
    const filler = join(full, "filler");
    await writeFile(filler, Buffer.alloc(1024 * 1024)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== "ENOSPC") throw error;
    });
    server = await startOpenAIServer({ plan: defaultPlan(3) });
    const args = ["Tides", "--out", "full/r.md", "--thread", "disk-full"];
    const env = { OPENAI_BASE_URL: server.baseURL };
    const failed = await runCli(args, { env, directory });
    // No 0-byte report.md.<pid>.<ms>.tmp is left on the full disk.
    expect((await readdir(full)).sort()).toEqual(["filler"]);
    expect(failed.stderr).toMatch(
      /^error: Cannot write the report to .*full\/r\.md: no space left on the device\. Nothing was replaced\..*--thread disk-full/m,
    );
    expect(failed.code).toBe(1);
    expect(server.requests).toHaveLength(4);

    await unlink(filler);
    const resumed = await runCli(args, { env, directory });
    expect(resumed.code).toBe(0);
    expect(server.requests).toHaveLength(4);
    expect(await readdir(full)).toEqual(["r.md"]);
    expect(await readFile(join(full, "r.md"), "utf8")).toMatch(/^# Tides\n/);
  });

  test("temporary files a killed run left beside --out are removed by the next run that writes it", async () => {
    const directory = await mkdtemp(join(tmpdir(), "report-safety-"));
    // pid 99999999 is above Linux's pid_max: no such process. The test runner's pid is alive.
    const dead = "r.md.99999999.1700000000000.tmp";
    const alive = `r.md.${process.pid}.1700000000000.tmp`;
    const others = ["r.md.old.tmp", "other.md.99999999.1700000000000.tmp"];
    for (const name of [dead, alive, ...others]) await writeFile(join(directory, name), "partial");
    const result = await runCli(["Tides", "--out", "r.md"], { directory });
    expect(result.code).toBe(0);
    const left = (await readdir(directory)).filter((name) => !name.startsWith("."));
    expect(left.sort()).toEqual([alive, ...others, "r.md"].sort());
  });

  test("section names from a --plan file are one line of plain text: one heading each, no HTML, link or fence", async () => {
    const directory = await mkdtemp(join(tmpdir(), "report-safety-"));
    server = await startOpenAIServer();
    await writeFile(
      join(directory, "plan.json"),
      JSON.stringify([
        { name: "Intro\n# Fake title\n## Fake section", description: "The start." },
        { name: "<script>alert(1)</script>", description: "HTML." },
        { name: "See [x](javascript:alert(1))", description: "A link." },
        { name: "Code ```js\nalert(1)\n```", description: "A fence." },
      ]),
    );
    const result = await runCli(["Tides", "--plan", "plan.json", "--out", "r.md"], {
      env: { OPENAI_BASE_URL: server.baseURL },
      directory,
    });
    expect(result.code).toBe(0);
    expect(server.planRequests()).toHaveLength(0);
    expect(server.sectionRequests()).toHaveLength(4);
    const report = await readFile(join(directory, "r.md"), "utf8");
    checkStructure(report);
    // The progress lines are one line per section too.
    expect(result.stderr).not.toMatch(/^# Fake title/m);
  });

  test("section names from the planner: a plan with a heading, HTML and a code fence in its names is used as is, with one plan request", async () => {
    const directory = await mkdtemp(join(tmpdir(), "report-safety-"));
    server = await startOpenAIServer({
      plan: [
        { name: "Intro\n# Fake title\n## Fake section", description: "The start." },
        { name: "<script>alert(1)</script>", description: "HTML." },
        { name: "See [x](javascript:alert(1))", description: "A link." },
        { name: "Code ```js\nalert(1)\n```", description: "A fence." },
      ],
    });
    const result = await runCli(["Tides", "--out", "r.md", "--structured-output", "jsonSchema"], {
      env: { OPENAI_BASE_URL: server.baseURL },
      directory,
    });
    expect(result.code).toBe(0);
    expect(server.planRequests()).toHaveLength(1);
    checkStructure(await readFile(join(directory, "r.md"), "utf8"));
  });

  test("terminal escape sequences in the topic are never printed raw: the run goes on with them removed", async () => {
    const directory = await mkdtemp(join(tmpdir(), "report-safety-"));
    const result = await runCli(["\u001b[31mHow tides work\u001b[0m", "--out", "r.md"], {
      directory,
    });
    expect(result.code).toBe(0);
    expect(result.stderr).not.toContain("\u001b");
    expect(result.stderr).toMatch(/Planning "How tides work"/);
    expect(await readFile(join(directory, "r.md"), "utf8")).toMatch(/^# How tides work\n/);
  });

  test("a topic of 1,001 emoji counts as 1,001 characters and is accepted whole", async () => {
    const directory = await mkdtemp(join(tmpdir(), "report-safety-"));
    const topic = FAMILY.repeat(1001);
    const result = await runCli([topic, "--out", "r.md"], { directory });
    expect(result.stderr).not.toMatch(/characters long/);
    expect(result.code).toBe(0);
    expect(await readFile(join(directory, "r.md"), "utf8")).toMatch(new RegExp(`^# ${topic}\n`));
  });

  test("a UTF-8 byte order mark at the start of --plan and --roles files is accepted", async () => {
    const directory = await mkdtemp(join(tmpdir(), "report-safety-"));
    server = await startOpenAIServer();
    const bom = "\ufeff";
    await writeFile(
      join(directory, "plan.json"),
      `${bom}${JSON.stringify([{ name: "Moon", description: "The moon's pull.", role: "physicist" }])}`,
    );
    await writeFile(
      join(directory, "roles.json"),
      `${bom}${JSON.stringify([{ name: "physicist", background: "Knows gravity." }])}`,
    );
    const result = await runCli(
      ["Tides", "--plan", "plan.json", "--roles", "roles.json", "--out", "r.md"],
      { env: { OPENAI_BASE_URL: server.baseURL }, directory },
    );
    expect(result.stderr).not.toMatch(/not valid JSON/);
    expect(result.code).toBe(0);
    expect(server.sectionRequests()).toHaveLength(1);
    expect(await readFile(join(directory, "r.md"), "utf8")).toMatch(/## Moon/);
  });

  test("--request-timeout takes seconds (decimals allowed) into requestTimeoutMs; counts take plain digits", async () => {
    const directory = await mkdtemp(join(tmpdir(), "report-safety-"));
    const output = { stdout: () => undefined, stderr: () => undefined };
    const parsed = parseArguments(
      ["Tides", "--request-timeout", "2.5", "--max-sections", "08", "--out", "r.md"],
      output,
    );
    if (typeof parsed === "number") throw new Error(`usage error ${parsed}`);
    const request = await prepareRun(parsed.topic, parsed.options, {
      workingDirectory: directory,
    });
    expect(request.configurable).toMatchObject({ requestTimeoutMs: 2500, maxSections: 8 });
    expect(request.configuration.requestTimeoutMs).toBe(2500);

    const help = await runCli(["--help"], { directory });
    expect(help.stdout.replace(/\s+/g, " ")).toContain(
      "--request-timeout <seconds> Time limit of one model request, the answer's body included, in milliseconds; a request over it is retried (maxRetries). This flag takes seconds, decimals allowed. (default: 120)",
    );
    expect(help.stdout).toMatch(/Numbers are written in plain decimal digits/);
  });
});

/** The report has its title and one `## ` heading per section, and nothing that makes HTML, a link or a fence. */
function checkStructure(report: string): void {
  expect(report.match(/^#{1,6} .*$/gm)).toEqual([
    "# Tides",
    "## Intro # Fake title ## Fake section",
    "## \\<script\\>alert(1)\\</script\\>",
    "## See \\[x\\](javascript:alert(1))",
    "## Code \\`\\`\\`js alert(1) \\`\\`\\`",
  ]);
  expect(report).not.toMatch(/(^|[^\\])<script/);
  expect(report).not.toMatch(/(^|[^\\])\]\(javascript:/);
  expect(report).not.toMatch(/^\s*```/m);
}
