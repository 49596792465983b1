/**
 * MCP servers as tools for the workers: the `mcpServers` file MCP clients use, read and checked;
 * the servers started (stdio or streamable HTTP, through @langchain/mcp-adapters) and their tools
 * named `<server>__<tool>`, answering the model in text; and one `close` that stops them all.
 */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import type { StructuredToolInterface } from "@langchain/core/tools";
import type { Connection, MultiServerMCPClient } from "@langchain/mcp-adapters";
import type { z } from "zod";
import { InvalidInputError, redact, shortMessage } from "../errors.js";
import { ConfigurationSchema, McpServerSchema, type McpServer } from "../schemas/configuration.js";
import { printable } from "../schemas/input.js";

/** MCP servers by name, checked (the configuration's `mcpServers`). */
export type McpServers = Record<string, McpServer>;

/** MCP servers by name as a caller writes them (`args` may be left out). */
export type McpServersInput = Record<string, z.input<typeof McpServerSchema>>;

/** Options of `openMcpServers`. */
export interface OpenMcpServersOptions {
  /** Folder a server's relative `cwd` (and a relative `command` path) is resolved against; default the process's. */
  workingDirectory?: string;
  /** Where the servers were given, for error messages (a file path, say); default "mcpServers". */
  origin?: string;
  /** Most milliseconds one server may take to start and list its tools; default 30 s. */
  startTimeoutMs?: number;
  /** Receives each line a stdio server writes to its stderr (redacted); by default they are dropped. */
  onServerOutput?: (server: string, line: string) => void;
  /**
   * Secrets to redact beside the servers' own (`mcpSecretsOf`): the model servers' keys, say. The
   * tools' output, their errors and a start failure never hold any of them.
   */
  secrets?: readonly string[];
  /**
   * Receives one line for each thing left out of what the servers offer (tools whose names a
   * provider would refuse, duplicates, tools past `MAX_MCP_TOOLS`); default `console.warn`.
   */
  onWarning?: (message: string) => void;
}

/**
 * Most MCP tools bound to a model call, all servers together: OpenAI refuses more than 128 tools
 * in a request, and every tool's schema is sent with every call (10,000 tools made 1.7 M prompt
 * tokens for one section).
 */
export const MAX_MCP_TOOLS = 128;

/** A tool name providers take (OpenAI, Anthropic, Gemini): letters, digits, _ and -, at most 64. */
const PROVIDER_TOOL_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** Started MCP servers: their tools, what each server offers, and the one way to stop them. */
export interface McpServerConnections {
  /** Every server's tools, named `<server>__<tool>`; each answers with text. */
  tools: StructuredToolInterface[];
  /** Each server's name and its tools' names, in the order the servers were given. */
  servers: { name: string; tools: string[] }[];
  /** Closes every server (a stdio server's process is ended); safe to call more than once. */
  close(): Promise<void>;
}

/** What a file entry must look like, for the messages that refuse one. */
const ENTRY_SHAPE =
  'give { "command": "...", "args": [...], "env": {...} } for a stdio server or { "url": "http://...", "headers": {...} } for an HTTP one';

const FILE_SHAPE = '{ "mcpServers": { "<name>": { "command": "...", "args": [...] } } }';

const DEFAULT_START_TIMEOUT_MS = 30_000;

/**
 * Reads an MCP servers file: JSON `{ "mcpServers": { "<name>": {...} } }`, as Claude Desktop,
 * Cursor and Claude Code write it (VS Code's `{ "servers": {...} }` is read too). A bare record of
 * servers is refused: in a file, a server named "mcpServers" and the wrapper could not be told
 * apart. Throws `InvalidInputError` (field `mcp`) naming the file and what to change.
 */
export async function readMcpServersFile(path: string): Promise<McpServers> {
  const shown = printable(path);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InvalidInputError({
      field: "mcp",
      message: `Cannot read the MCP servers file ${shown}${code ? ` (${code})` : ""}: check the path.`,
      cause: error,
    });
  }
  let value: unknown;
  try {
    // A byte order mark is how some editors (Notepad, PowerShell's Out-File) start UTF-8 files.
    value = JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch (error) {
    throw new InvalidInputError({
      field: "mcp",
      message: `${shown} is not valid JSON: give ${FILE_SHAPE}.`,
      cause: error,
    });
  }
  const servers = isRecord(value) ? (value.mcpServers ?? value.servers) : undefined;
  if (!isRecord(servers)) {
    throw new InvalidInputError({
      field: "mcp",
      message: `${shown} holds no "mcpServers" object: give ${FILE_SHAPE}, as MCP clients' files do.`,
    });
  }
  if (Object.keys(servers).length === 0) {
    throw new InvalidInputError({
      field: "mcp",
      message: `${shown} names no MCP server: add one to "mcpServers", or leave the file out.`,
    });
  }
  return parseMcpServers(servers, { origin: shown, field: "mcp" });
}

/**
 * Checks MCP servers given as `{ "<name>": { command, args, env, cwd } | { url, headers } }` and
 * returns them with defaults filled in. Throws `InvalidInputError` naming the server and the field
 * to change.
 */
export function parseMcpServers(
  value: unknown,
  options: { origin?: string; field?: string } = {},
): McpServers {
  const { origin = "mcpServers", field = "mcpServers" } = options;
  const refuse = (message: string, cause?: unknown) =>
    new InvalidInputError({ field, message, cause });
  if (!isRecord(value)) {
    throw refuse(`${origin} is not an object of MCP servers by name: ${ENTRY_SHAPE}.`);
  }
  // The union's own error says only "Invalid input": check each entry against its kind instead.
  const [stdio, http] = McpServerSchema.options;
  for (const [name, entry] of Object.entries(value)) {
    const server = `MCP server "${printable(name)}" in ${origin}`;
    const schema = !isRecord(entry)
      ? undefined
      : "command" in entry
        ? stdio
        : "url" in entry
          ? http
          : undefined;
    if (!schema) throw refuse(`${server} has neither a "command" nor a "url": ${ENTRY_SHAPE}.`);
    const result = schema.safeParse(entry);
    if (!result.success) {
      const issue = result.error.issues[0]!;
      const at = issue.path.length ? `"${issue.path.map(String).join(".")}": ` : "";
      throw refuse(`${server}: ${at}${issue.message}; ${ENTRY_SHAPE}.`, result.error);
    }
  }
  // The configuration's schema is the one source of what a valid `mcpServers` is (names included).
  const result = ConfigurationSchema.shape.mcpServers.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const name = issue.path[0] === undefined ? "" : ` "${printable(String(issue.path[0]))}"`;
    throw refuse(
      `MCP server name${name} in ${origin} has characters other than letters, digits, - and _: rename it (its tools are named <name>__<tool>).`,
      result.error,
    );
  }
  return result.data ?? {};
}

/**
 * The values MCP servers are configured with that may be secrets: every `env` and `headers` value
 * (and a header's last word, the token of "Bearer <token>"), a URL's password and query values.
 * Add them to what is redacted wherever text is printed or stored.
 */
export function mcpSecretsOf(servers: unknown): string[] {
  const secrets = new Set<string>();
  // Unchecked input too (an eval configuration file's): whatever looks like a value is hidden.
  const texts = (values: unknown) =>
    isRecord(values)
      ? Object.values(values).filter((value): value is string => typeof value === "string")
      : [];
  for (const server of isRecord(servers) ? Object.values(servers) : []) {
    if (!isRecord(server)) continue;
    for (const value of texts(server.env)) secrets.add(value);
    for (const value of texts(server.headers)) {
      secrets.add(value);
      secrets.add(value.trim().split(/\s+/).at(-1) ?? "");
    }
    if (typeof server.url !== "string") continue;
    try {
      const url = new URL(server.url);
      secrets.add(decodeURIComponent(url.username));
      secrets.add(decodeURIComponent(url.password));
      for (const value of url.searchParams.values()) secrets.add(value);
    } catch {
      // An unparsable URL is refused elsewhere; it has nothing more to hide.
    }
  }
  // Longest first, so a header's whole value is replaced before the token inside it.
  return [...secrets].filter((secret) => secret.length >= 4).sort((a, b) => b.length - a.length);
}

/**
 * Starts MCP servers and loads their tools with `MultiServerMCPClient` from
 * @langchain/mcp-adapters, one client per server, all started at once:
 * 1. checks the servers (`parseMcpServers`);
 * 2. starts each one: a stdio server as a child process (its stderr piped, not printed), an HTTP
 *    one over streamable HTTP falling back to SSE (`"type": "sse"`: SSE only);
 * 3. names each tool `<server>__<tool>` and makes it answer with text: text content as is, other
 *    content named in brackets, a tool's error thrown (the worker hands it to the model as text);
 * 4. when a server fails to start, closes those that did and throws one `InvalidInputError` naming
 *    the server, the cause and what to change (secrets redacted).
 */
export async function openMcpServers(
  servers: McpServersInput,
  options: OpenMcpServersOptions = {},
): Promise<McpServerConnections> {
  const origin = options.origin ?? "mcpServers";
  const checked = parseMcpServers(servers, { origin });
  const secrets = [...mcpSecretsOf(checked), ...(options.secrets ?? [])].sort(
    (a, b) => b.length - a.length,
  );
  const redactText = (text: string) => redact(text, secrets);
  const workingDirectory = options.workingDirectory ?? process.cwd();
  const timeoutMs = options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  let closing: Promise<void> | undefined;
  // Loaded when servers are started, not when the package is imported: the MCP SDK takes about
  // half a second to load, which every run without MCP servers would pay.
  const { MultiServerMCPClient } = await import("@langchain/mcp-adapters");
  const started = Object.entries(checked).map(([name, server]) => {
    const client = new MultiServerMCPClient({
      mcpServers: { [name]: connectionOf(server, workingDirectory) },
      prefixToolNameWithServerName: true,
      additionalToolNamePrefix: "",
      // Embedded resources are content too: their text is what the model came for.
      outputHandling: "content",
      useStandardContentBlocks: false,
      throwOnLoadError: true,
      onConnectionError: "throw",
      // Redacted here, inside the tool: its run in a trace, the model's prompt and the state all
      // see the output without the secrets the server was started with (a server may echo them).
      afterToolCall: ({ result }) => ({ result: redactText(contentText(result[0])) }),
    });
    const loading = client.getTools();
    // A server still starting when the others are closed (it timed out) is closed once it starts.
    void loading.then(
      async () => {
        if (closing) await client.close().catch(() => undefined);
      },
      () => undefined,
    );
    const tools = withTimeout(loading, timeoutMs);
    return { name, server, client, tools };
  });
  const results = await Promise.allSettled(started.map(({ tools }) => tools));
  // A stdio server's process: its stderr is read here, and close() waits until it has exited.
  const processes: number[] = [];
  for (const [index, { name, client }] of started.entries()) {
    if (results[index]!.status === "rejected") continue;
    const transport = await stdioTransport(client, name);
    if (transport?.stderr) {
      forwardLines(transport.stderr, (line) => options.onServerOutput?.(name, redactText(line)));
    }
    if (typeof transport?.pid === "number") processes.push(transport.pid);
  }
  const close = () =>
    (closing ??= Promise.allSettled(started.map(({ client }) => client.close())).then(() =>
      untilExited(processes),
    ));
  const failed = results.findIndex((result) => result.status === "rejected");
  if (failed >= 0) {
    await close();
    const { name, server } = started[failed]!;
    const reason: unknown = (results[failed] as PromiseRejectedResult).reason;
    throw new InvalidInputError({
      field: "mcpServers",
      message: redactText(
        startFailure(name, server, reason, { origin, timeoutMs, redact: redactText }),
      ),
      cause: reason,
    });
  }
  const loaded = usableTools(
    started.map(({ name }) => name),
    results.map((result) => (result as PromiseFulfilledResult<StructuredToolInterface[]>).value),
    options.onWarning ?? ((message) => console.warn(`warning: ${message}`)),
  );
  return {
    tools: loaded.flat(),
    servers: started.map(({ name }, index) => ({
      name,
      tools: loaded[index]!.map((tool) => tool.name),
    })),
    close,
  };
}

/**
 * The servers' tools that a model call can take, per server, in order: a tool whose name a
 * provider would refuse (anything but letters, digits, _ and -, or over 64 characters with its
 * `<server>__` prefix) is left out, as is a second tool of one name and every tool past
 * `MAX_MCP_TOOLS`; each server's left-out tools are named in one warning (names made printable).
 */
function usableTools(
  servers: string[],
  tools: StructuredToolInterface[][],
  warn: (message: string) => void,
): StructuredToolInterface[][] {
  const seen = new Set<string>();
  let kept = 0;
  return tools.map((offered, index) => {
    const badNames: string[] = [];
    const duplicates: string[] = [];
    let overLimit = 0;
    const usable = offered.filter((tool) => {
      if (!PROVIDER_TOOL_NAME.test(tool.name)) {
        badNames.push(tool.name);
        return false;
      }
      if (seen.has(tool.name)) {
        duplicates.push(tool.name);
        return false;
      }
      seen.add(tool.name);
      if (kept >= MAX_MCP_TOOLS) {
        overLimit += 1;
        return false;
      }
      kept += 1;
      return true;
    });
    const server = servers[index]!;
    const quoted = (names: string[]) =>
      names
        .slice(0, 5)
        .map((name) => JSON.stringify(printable(name.slice(0, 80))))
        .join(", ") + (names.length > 5 ? ` and ${names.length - 5} more` : "");
    if (badNames.length) {
      warn(
        `MCP server ${server}: ${badNames.length} tool${badNames.length === 1 ? "" : "s"} left out, named with characters other than letters, digits, _ and - or longer than 64 with the server's prefix (model providers refuse them): ${quoted(badNames)}.`,
      );
    }
    if (duplicates.length) {
      warn(
        `MCP server ${server}: ${duplicates.length} tool${duplicates.length === 1 ? "" : "s"} left out whose name another tool already has: ${quoted(duplicates)}.`,
      );
    }
    if (overLimit) {
      warn(
        `MCP server ${server}: ${overLimit} tool${overLimit === 1 ? "" : "s"} left out past ${MAX_MCP_TOOLS} tools in all (every tool's schema goes with every model call, and providers refuse more than ${MAX_MCP_TOOLS}).`,
      );
    }
    return usable;
  });
}

/** The adapters' connection for one server. */
function connectionOf(server: McpServer, workingDirectory: string): Connection {
  if ("command" in server) {
    return {
      transport: "stdio",
      command: server.command,
      args: server.args,
      ...(server.env ? { env: server.env } : {}),
      cwd: resolve(workingDirectory, server.cwd ?? "."),
      // Piped and read by us: a server's log lines would otherwise land in the CLI's output.
      stderr: "pipe",
      restart: { enabled: false },
    };
  }
  const type = server.type ?? server.transport;
  return {
    transport: type === "sse" ? "sse" : "http",
    url: server.url,
    ...(server.headers ? { headers: server.headers } : {}),
  };
}

/**
 * A tool's MCP content as text for the model: text blocks (and text resources) as they are, other
 * blocks (images, audio, binary files) named in brackets, since the worker feeds tools' results
 * back as text.
 */
export function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  const blocks: unknown[] = Array.isArray(content) ? content : [content];
  const parts = blocks.map(blockText).filter((part) => part !== "");
  return parts.length ? parts.join("\n\n") : "(the tool returned no text)";
}

function blockText(block: unknown): string {
  if (typeof block === "string") return block;
  if (!isRecord(block)) return "";
  if (typeof block.text === "string") return block.text;
  const kind = typeof block.type === "string" ? block.type : "content";
  const mime = block.mime_type ?? block.mimeType;
  const url = typeof block.url === "string" && !block.url.startsWith("data:") ? block.url : "";
  return `[${[kind, typeof mime === "string" ? mime : "", url].filter(Boolean).join(" ")}: not text]`;
}

/** A started stdio server's transport: its piped stderr and its process id (none for HTTP). */
async function stdioTransport(client: MultiServerMCPClient, name: string) {
  const connected = await client.getClient(name).catch(() => undefined);
  return connected?.transport as { stderr?: Readable | null; pid?: number | null } | undefined;
}

/** Most milliseconds `close` waits for a stdio server's process to be gone once it was closed. */
const EXIT_WAIT_MS = 3000;

/**
 * Waits until the processes have exited: the MCP client's close ends a stdio server's stdin, then
 * sends SIGTERM and SIGKILL, but does not wait after the last, so a caller that exits right after
 * could still see it. One still there after `EXIT_WAIT_MS` is killed.
 */
async function untilExited(processes: number[]): Promise<void> {
  const deadline = Date.now() + EXIT_WAIT_MS;
  let alive = processes.filter(isRunning);
  while (alive.length > 0 && Date.now() < deadline) {
    await new Promise((resolveWait) => setTimeout(resolveWait, 20));
    alive = alive.filter(isRunning);
  }
  for (const pid of alive) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Gone in the meantime.
    }
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Reads a stream line by line (so a chatty server never blocks on a full pipe). */
function forwardLines(stream: Readable, onLine: (line: string) => void): void {
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  lines.on("line", onLine);
  stream.on("error", () => lines.close());
}

class StartTimeout extends Error {}

function withTimeout<T>(promise: Promise<T>, milliseconds: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StartTimeout()), milliseconds);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** One line: which server, why it did not start, and what to change. */
function startFailure(
  name: string,
  server: McpServer,
  reason: unknown,
  context: { origin: string; timeoutMs: number; redact: (text: string) => string },
): string {
  const seconds = Math.round(context.timeoutMs / 1000);
  // Redacted before it is cut: a cut through a token would leave its prefix unredacted.
  const cause = shortMessage(reason, { withName: false, maxLength: 300, redact: context.redact });
  const where = `MCP server "${name}" (${context.origin})`;
  if ("command" in server) {
    const command = `"${printable(server.command)}"`;
    if (reason instanceof StartTimeout) {
      return `${where} did not answer the MCP handshake within ${seconds} s: check that ${command} is an MCP server that speaks stdio.`;
    }
    if (/\bENOENT\b/.test(cause)) {
      return `${where} did not start: the command ${command} was not found${server.cwd ? ` (from cwd ${printable(server.cwd)})` : ""}: give "command" a program on PATH or a path to one.`;
    }
    if (/\bEACCES\b/.test(cause)) {
      return `${where} did not start: the command ${command} cannot be run (permission denied): give "command" an executable program.`;
    }
    if (/Connection closed/i.test(cause)) {
      return `${where} exited before answering the MCP handshake: run ${command} with its "args" yourself to see its error, then fix "command", "args" or "env".`;
    }
    return `${where} did not start (${cause}): check its "command", "args" and "env".`;
  }
  let address = server.url;
  try {
    const url = new URL(server.url);
    address = `${url.origin}${url.pathname}`;
  } catch {
    // Checked by the schema; shown as given otherwise.
  }
  if (reason instanceof StartTimeout) {
    return `${where} did not answer at ${address} within ${seconds} s: check its "url" and that the server is running.`;
  }
  if (/fetch failed|ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ECONNRESET/i.test(cause)) {
    return `${where} did not answer at ${address} (connection refused or host not found): check its "url" and that the server is running.`;
  }
  if (/Authentication failed|\b401\b|\b403\b/.test(cause)) {
    return `${where} refused the request at ${address} (not authorized): check its "headers".`;
  }
  return `${where} at ${address} failed the MCP handshake (${cause}): check its "url" (streamable HTTP, or "type": "sse" for an SSE server).`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
