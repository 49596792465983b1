import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { readBody } from "./process.js";

/** A run as the receiver assembled it from the creates and updates it was sent. */
export interface ReceivedRun {
  id: string;
  name: string;
  run_type: string;
  parent_run_id?: string;
  trace_id?: string;
  tags?: string[];
  extra?: { metadata?: Record<string, unknown> };
  error?: string | null;
  end_time?: unknown;
}

export interface LangSmithReceiver {
  /** Value for `LANGSMITH_ENDPOINT`. */
  endpoint: string;
  /** Runs by id, creates and updates merged. */
  runs(): ReceivedRun[];
  /** Every request body received, as text (to look for secrets). */
  bodies(): string[];
  /** Every request line received, e.g. `POST /runs/batch`. */
  requests(): string[];
  close(): Promise<void>;
}

/**
 * A local stand-in for the LangSmith API on 127.0.0.1: it answers `/info` (declining multipart
 * ingestion, so the client sends JSON batches), and records `POST /runs/batch`, `POST /runs` and
 * `PATCH /runs/:id`.
 */
export async function startLangSmithReceiver(
  options: {
    /** Answers a run-ingesting request with this error instead (a failing or echoing endpoint). */
    fail?: (request: IncomingMessage) => { status: number; body: string } | undefined;
  } = {},
): Promise<LangSmithReceiver> {
  const runs = new Map<string, ReceivedRun>();
  const bodies: string[] = [];
  const requests: string[] = [];
  const merge = (run: Partial<ReceivedRun> & { id: string }) => {
    const previous = runs.get(run.id);
    runs.set(run.id, {
      ...previous,
      ...run,
      extra: {
        ...previous?.extra,
        ...run.extra,
        metadata: { ...previous?.extra?.metadata, ...run.extra?.metadata },
      },
    } as ReceivedRun);
  };
  const server = createServer((request, response) => {
    void readBody(request).then((body) => {
      requests.push(`${request.method} ${request.url}`);
      bodies.push(body);
      const url = request.url ?? "";
      if (request.method === "GET" && url.startsWith("/info")) {
        response.writeHead(200, { "content-type": "application/json" });
        response.end(
          JSON.stringify({
            version: "0.0.0-test",
            batch_ingest_config: {
              use_multipart_endpoint: false,
              scale_up_qsize_trigger: 1000,
              scale_up_nthreads_limit: 16,
              scale_down_nempty_trigger: 4,
              size_limit: 100,
              size_limit_bytes: 20_971_520,
            },
          }),
        );
        return;
      }
      const failure = url.startsWith("/runs") ? options.fail?.(request) : undefined;
      if (failure) {
        response.writeHead(failure.status, { "content-type": "application/json" });
        response.end(failure.body);
        return;
      }
      if (request.method === "POST" && url.startsWith("/runs/batch")) {
        const batch = JSON.parse(body) as { post?: ReceivedRun[]; patch?: ReceivedRun[] };
        for (const run of [...(batch.post ?? []), ...(batch.patch ?? [])]) merge(run);
      } else if (request.method === "POST" && url === "/runs") {
        merge(JSON.parse(body) as ReceivedRun);
      } else if (request.method === "PATCH" && url.startsWith("/runs/")) {
        merge({ ...(JSON.parse(body) as ReceivedRun), id: url.slice("/runs/".length) });
      }
      response.writeHead(200, { "content-type": "application/json" });
      response.end("{}");
    });
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    runs: () => [...runs.values()],
    bodies: () => bodies,
    requests: () => requests,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
