import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";

/** The PostgreSQL server the tests may use (CI sets POSTGRES_URL); without it those tests skip. */
export const POSTGRES_URL = process.env.POSTGRES_URL ?? process.env.DATABASE_URL;

// `pg` ships no types; the tests need little of it.
export interface PgClient {
  connect(): Promise<void>;
  query(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
  end(): Promise<void>;
}
export interface PgPool {
  query(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
  on(event: "error", listener: () => void): unknown;
  end(): Promise<void>;
}
export const pg = createRequire(import.meta.url)("pg") as {
  Client: new (config: { connectionString?: string }) => PgClient;
  Pool: new (config: { connectionString?: string }) => PgPool;
};

/** Runs `work` on a connection of its own to `url` (by default the server's test database). */
export async function admin<T>(
  work: (client: PgClient) => Promise<T>,
  url = POSTGRES_URL,
): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A fresh database for one test: its name and URL, and how to drop it. */
export async function createDatabase(prefix: string) {
  const name = `${prefix}_${process.pid}_${randomUUID().slice(0, 8)}`;
  await admin((client) => client.query(`CREATE DATABASE ${name}`));
  const parsed = new URL(POSTGRES_URL!);
  parsed.pathname = `/${name}`;
  return {
    name,
    url: parsed.toString(),
    drop: () => admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)),
  };
}
