/**
 * postgres.js looks the array types up as the first query of each new connection and leaves that
 * query's promise unhandled (porsager/postgres#1192): a connection reset during it was an
 * unhandled rejection (seen in the fault suite, at a pool's shutdown). openPostgres lets only a
 * client's first connection look them up; the others reuse what it found.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sql } from 'postgres';
import { openPostgres } from '../../server/db/client.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

let database: TestDatabase;
let client: Sql | undefined;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await client?.end({ timeout: 1 });
  await database?.drop();
});

const isTypeLookup = (query: string) => query.includes('pg_catalog.pg_type') && query.includes("typcategory = 'A'");

describe('openPostgres', () => {
  it('looks the array types up on its first connection only, and arrays still parse on the others', async () => {
    let lookups = 0;
    const applicationName = `type-lookup-${process.pid}`;
    client = openPostgres(database.url, {
      max: 3,
      onnotice: () => {},
      connection: { application_name: applicationName },
      debug: (_connection, query) => {
        if (isTypeLookup(query)) lookups++;
      },
    });
    const sql = client;
    await sql`SELECT 1`;
    expect(lookups).toBe(1);

    // Three at once open the pool's other two connections.
    const pids = await Promise.all([0, 1, 2].map(() => sql<{ pid: number }[]>`SELECT pg_backend_pid() AS pid, pg_sleep(0.2)`));
    expect(new Set(pids.map(([row]) => row!.pid)).size).toBe(3);

    // Connections ended by the server reconnect without a lookup either.
    const other = openPostgres(database.url, { max: 1, onnotice: () => {} });
    await other`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = ${applicationName}`;
    await other.end();
    let rows: { labels: string[] }[] = [];
    for (let i = 0; i < 20 && rows.length === 0; i++) {
      rows = await sql<{ labels: string[] }[]>`SELECT ARRAY['a', 'b,c']::text[] AS labels`.catch(() => []);
    }
    expect(rows[0]!.labels).toEqual(['a', 'b,c']);
    const [echoed] = await sql<{ n: number }[]>`SELECT cardinality(${['x', 'y', 'z']}::text[]) AS n`;
    expect(echoed!.n).toBe(3);
    expect(lookups).toBe(1);
  });
});
