import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";

/** A dataset the stand-in holds. */
export interface StoredDataset {
  id: string;
  name: string;
  description?: string;
  examples: StoredExample[];
}

/** An example the stand-in holds (inputs, reference outputs and metadata as uploaded). */
export interface StoredExample {
  id: string;
  dataset_id: string;
  inputs: Record<string, unknown>;
  outputs?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
  created_at: string;
}

/** An experiment (tracer session) the stand-in holds. */
export interface StoredSession {
  id: string;
  name: string;
  reference_dataset_id?: string;
  extra?: { metadata?: Record<string, unknown> };
  end_time?: string;
}

/** A feedback record: a score (and comment) on a run. */
export interface StoredFeedback {
  run_id: string | null;
  key: string;
  score?: number;
  comment?: string;
}

/** A traced run, creates and updates merged. */
export interface StoredRun {
  id: string;
  name?: string;
  run_type?: string;
  session_name?: string;
  session_id?: string;
  reference_example_id?: string;
  parent_run_id?: string;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
}

export interface LangSmithApi {
  /** Value for `LANGSMITH_ENDPOINT`. */
  endpoint: string;
  datasets(): StoredDataset[];
  sessions(): StoredSession[];
  feedback(): StoredFeedback[];
  runs(): StoredRun[];
  /** Every request line, e.g. `POST /datasets`. */
  requests(): string[];
  /** Requests it had no route for (a test should expect none). */
  unknown(): string[];
  close(): Promise<void>;
}

/**
 * A local stand-in for the parts of the LangSmith API that datasets and `evaluate()` use, on
 * 127.0.0.1: datasets (create, read by name or id), examples (the multipart upload, read, list),
 * experiments (`/sessions`), feedback, and run ingestion (JSON batches, as the tracing receiver in
 * `langsmith-receiver.ts`, which this extends in a copy so the tracing tests keep their own).
 */
export async function startLangSmithApi(): Promise<LangSmithApi> {
  const datasets: StoredDataset[] = [];
  const sessions: StoredSession[] = [];
  const feedback: StoredFeedback[] = [];
  const runs = new Map<string, StoredRun>();
  const requests: string[] = [];
  const unknown: string[] = [];
  const now = () => new Date().toISOString();
  const exampleView = (example: StoredExample) => ({
    ...example,
    modified_at: example.created_at,
    runs: [],
  });
  const datasetView = (dataset: StoredDataset) => ({
    id: dataset.id,
    name: dataset.name,
    description: dataset.description,
    created_at: now(),
    example_count: dataset.examples.length,
    tenant_id: "00000000-0000-4000-8000-000000000000",
  });
  const mergeRun = (run: StoredRun) => runs.set(run.id, { ...runs.get(run.id), ...run });

  async function handle(
    request: IncomingMessage,
    body: Buffer,
  ): Promise<{ status: number; json: unknown }> {
    const url = new URL(request.url ?? "/", "http://stand-in");
    const path = url.pathname;
    const method = request.method ?? "GET";
    const text = () => body.toString("utf8");
    if (method === "GET" && path === "/info") {
      return {
        status: 200,
        json: {
          version: "0.0.0-test",
          instance_flags: { dataset_examples_multipart_enabled: true },
          batch_ingest_config: {
            use_multipart_endpoint: false,
            scale_up_qsize_trigger: 1000,
            scale_up_nthreads_limit: 16,
            scale_down_nempty_trigger: 4,
            size_limit: 100,
            size_limit_bytes: 20_971_520,
          },
        },
      };
    }
    if (method === "GET" && path === "/datasets") {
      const name = url.searchParams.get("name");
      return {
        status: 200,
        json: datasets.filter((dataset) => name === null || dataset.name === name).map(datasetView),
      };
    }
    if (method === "POST" && path === "/datasets") {
      const given = JSON.parse(text()) as { name: string; description?: string };
      if (datasets.some((dataset) => dataset.name === given.name)) {
        return { status: 409, json: { detail: "Dataset already exists" } };
      }
      const dataset = {
        id: randomUUID(),
        name: given.name,
        description: given.description,
        examples: [],
      };
      datasets.push(dataset);
      return { status: 200, json: datasetView(dataset) };
    }
    const datasetMatch = /^\/datasets\/([^/]+)$/.exec(path);
    if (method === "GET" && datasetMatch) {
      const dataset = datasets.find((candidate) => candidate.id === datasetMatch[1]);
      return dataset
        ? { status: 200, json: datasetView(dataset) }
        : { status: 404, json: { detail: "Dataset not found" } };
    }
    const upload = /^\/v1\/platform\/datasets\/([^/]+)\/examples$/.exec(path);
    if (method === "POST" && upload) {
      const dataset = datasets.find((candidate) => candidate.id === upload[1]);
      if (!dataset) return { status: 404, json: { detail: "Dataset not found" } };
      const form = await new Request("http://stand-in/", {
        method: "POST",
        headers: { "content-type": request.headers["content-type"] ?? "" },
        body,
      }).formData();
      const parts = new Map<string, unknown>();
      for (const [name, value] of form.entries()) {
        parts.set(name, JSON.parse(typeof value === "string" ? value : await value.text()));
      }
      const ids = [...parts.keys()].filter((name) => !name.includes("."));
      for (const id of ids) {
        const main = parts.get(id) as { metadata?: Record<string, unknown>; created_at?: string };
        dataset.examples.push({
          id,
          dataset_id: dataset.id,
          inputs: (parts.get(`${id}.inputs`) ?? {}) as Record<string, unknown>,
          outputs: parts.get(`${id}.outputs`) as Record<string, unknown> | undefined,
          metadata: main.metadata,
          created_at: main.created_at ?? now(),
        });
      }
      return { status: 200, json: { example_ids: ids, count: ids.length } };
    }
    if (method === "GET" && path === "/examples") {
      const dataset = datasets.find(
        (candidate) => candidate.id === url.searchParams.get("dataset"),
      );
      const offset = Number(url.searchParams.get("offset") ?? 0);
      const limit = Number(url.searchParams.get("limit") ?? 100);
      return {
        status: 200,
        json: (dataset?.examples ?? []).slice(offset, offset + limit).map(exampleView),
      };
    }
    const exampleMatch = /^\/examples\/([^/]+)$/.exec(path);
    if (method === "GET" && exampleMatch) {
      const example = datasets
        .flatMap((dataset) => dataset.examples)
        .find((candidate) => candidate.id === exampleMatch[1]);
      return example
        ? { status: 200, json: exampleView(example) }
        : { status: 404, json: { detail: "Example not found" } };
    }
    if (method === "POST" && path === "/sessions") {
      const given = JSON.parse(text()) as Omit<StoredSession, "id">;
      if (sessions.some((session) => session.name === given.name)) {
        return { status: 409, json: { detail: "Session already exists" } };
      }
      const session = { ...given, id: randomUUID() };
      sessions.push(session);
      return {
        status: 200,
        json: { ...session, tenant_id: "00000000-0000-4000-8000-000000000000" },
      };
    }
    if (method === "GET" && path === "/sessions") {
      const name = url.searchParams.get("name");
      return {
        status: 200,
        json: sessions
          .filter((session) => name === null || session.name === name)
          .map((session) => ({ ...session, tenant_id: "00000000-0000-4000-8000-000000000000" })),
      };
    }
    const sessionMatch = /^\/sessions\/([^/]+)$/.exec(path);
    if (method === "PATCH" && sessionMatch) {
      const session = sessions.find((candidate) => candidate.id === sessionMatch[1]);
      if (!session) return { status: 404, json: { detail: "Session not found" } };
      // The client sends every field, unset ones as null: only the set ones change.
      const update = JSON.parse(text()) as Record<string, unknown>;
      Object.assign(
        session,
        Object.fromEntries(Object.entries(update).filter(([, value]) => value !== null)),
      );
      return { status: 200, json: session };
    }
    if (method === "POST" && path === "/feedback") {
      const given = JSON.parse(text()) as StoredFeedback;
      feedback.push(given);
      return { status: 200, json: { ...given, id: randomUUID() } };
    }
    if (method === "POST" && path === "/runs/batch") {
      const batch = JSON.parse(text()) as { post?: StoredRun[]; patch?: StoredRun[] };
      for (const run of [...(batch.post ?? []), ...(batch.patch ?? [])]) mergeRun(run);
      return { status: 200, json: {} };
    }
    if (method === "POST" && path === "/runs") {
      mergeRun(JSON.parse(text()) as StoredRun);
      return { status: 200, json: {} };
    }
    const runMatch = /^\/runs\/([^/]+)$/.exec(path);
    if (method === "PATCH" && runMatch) {
      mergeRun({ ...(JSON.parse(text()) as StoredRun), id: runMatch[1]! });
      return { status: 200, json: {} };
    }
    unknown.push(`${method} ${path}`);
    return { status: 404, json: { detail: `No route ${method} ${path}` } };
  }

  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      requests.push(`${request.method} ${request.url}`);
      void handle(request, Buffer.concat(chunks))
        .catch((error: unknown) => ({ status: 500, json: { detail: String(error) } }))
        .then(({ status, json }) => {
          response.writeHead(status, { "content-type": "application/json" });
          response.end(JSON.stringify(json));
        });
    });
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    datasets: () => datasets,
    sessions: () => sessions,
    feedback: () => feedback,
    runs: () => [...runs.values()],
    requests: () => requests,
    unknown: () => unknown,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
