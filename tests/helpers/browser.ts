import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize, resolve, sep } from "node:path";
import { promisify } from "node:util";
import { chromium, type Browser } from "playwright-core";

const run = promisify(execFile);

/** Debian's Chromium (`apt-get install chromium`), which playwright-core drives. */
export const CHROMIUM = "/usr/bin/chromium";

/** Whether the system Chromium is installed. */
export function hasChromium(): boolean {
  return existsSync(CHROMIUM);
}

/**
 * Launches the system Chromium headless, with its own background traffic (updates, sync, QUIC,
 * first-run pages) off and every host name but 127.0.0.1 made unresolvable, so a page can reach
 * only local servers.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-background-networking",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-component-update",
      "--disable-sync",
      "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    ],
  });
}

/**
 * Builds the Vite app in `root` into `outDir` with its own vite.config.ts. Vite's `build()` runs
 * in a child Node process: inside Jest's module sandbox, rolldown's native binding refuses the
 * plugin objects the sandbox hands it ("Value is none of these types `BindingPluginOptions`").
 */
export async function buildPage(root: string, outDir: string): Promise<void> {
  const script = `const { build } = await import("vite");
await build({ root: process.argv[1], build: { outDir: process.argv[2], emptyOutDir: true }, logLevel: "error" });`;
  try {
    await run(process.execPath, ["--input-type=module", "-e", script, resolve(root), outDir]);
  } catch (error) {
    const { stderr } = error as { stderr?: string };
    throw new Error(`Vite could not build ${root}:\n${stderr ?? String(error)}`, { cause: error });
  }
}

/** A local HTTP server of static files. */
export interface FileServer {
  url: string;
  close(): Promise<void>;
}

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".json": "application/json",
};

/**
 * Serves the files under `directory` on a free port on 127.0.0.1 (`/` is `index.html`), as any
 * static host would serve a built page; a path outside the directory or a missing file is a 404.
 */
export async function serveFiles(directory: string): Promise<FileServer> {
  const root = resolve(directory);
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? "/", "http://localhost").pathname);
    const file = normalize(join(root, path === "/" ? "index.html" : path));
    if (!file.startsWith(root + sep)) {
      response.writeHead(404).end();
      return;
    }
    readFile(file).then(
      (body) => {
        const type = CONTENT_TYPES[extname(file)] ?? "application/octet-stream";
        response.writeHead(200, { "content-type": type }).end(body);
      },
      () => response.writeHead(404).end(),
    );
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
