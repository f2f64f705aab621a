/**
 * Statements that serve one organization, or a few endpoints, read only those rows however many
 * other organizations share the database. At platform size (100,000 endpoints in 10,000
 * organizations) a statement that reads every endpoint or every signing key grows with the whole
 * population: the publish statement's check of its endpoints hashed every live endpoint (publish
 * p50 3 → 38 ms from 10 to 100,000 endpoints), the worker's key load scanned every key. The
 * statements are captured as the code sends them (postgres.js `debug`) and EXPLAINed with their
 * parameters on a database holding 20,000 endpoints of 2,000 other organizations: every scan of a
 * per-tenant table must be an index lookup (an index condition, never a sequential scan or a
 * whole index read).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sql } from 'postgres';
import { startTestService, type TestService } from '../helpers/service.js';
import { openPostgres, type Database } from '../../server/db/client.js';
import { createPublisher } from '../../server/engine/publish.js';
import { createRuntimeLoader } from '../../server/engine/endpointRuntime.js';
import { createSecretBox } from '../../server/crypto/secretBox.js';

const TENANT_TABLES = new Set(['endpoints', 'signing_keys', 'event_subscriptions']);

let service: TestService;
let captured: { text: string; params: unknown[] }[] = [];
let cap: Sql;
let endpointId: string;

beforeAll(async () => {
  service = await startTestService({ WEBHOOKS_ROLES: 'api' });
  const sql = service.database.sql;
  await sql`
    WITH o AS (INSERT INTO organizations (id, name) SELECT 'org_other_' || n, 'other ' || n FROM generate_series(1, 2000) n RETURNING id)
    , e AS (INSERT INTO endpoints (id, org_id, url)
            SELECT 'ep_other_' || o.id || '_' || k, o.id, 'https://example.test/' || k FROM o CROSS JOIN generate_series(1, 10) k RETURNING id, org_id)
    , s AS (INSERT INTO event_subscriptions (endpoint_id, pattern) SELECT id, 'pipeline.*' FROM e)
    INSERT INTO signing_keys (id, org_id, endpoint_id, algorithm, secret_sealed) SELECT 'key_' || id, org_id, id, 'HMAC_SHA256', 'x' FROM e`;
  const created = await service.client().data<{ createEndpoint: { endpoint: { id: string } } }>(
    `mutation { createEndpoint(input: { url: "http://127.0.0.1:9/tenant-plans", patterns: ["pipeline.*"] }) { endpoint { id } } }`,
  );
  endpointId = created.createEndpoint.endpoint.id;
  await sql`ANALYZE organizations, event_subscriptions`;
  cap = openPostgres(service.testDatabase.url, {
    max: 1,
    onnotice: () => {},
    debug: (_connection, text, params) => captured.push({ text, params: params as unknown[] }),
  });
});
afterAll(async () => {
  await cap?.end();
  await service?.close();
});

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Index Cond'?: string;
  'Recheck Cond'?: string;
  Plans?: PlanNode[];
}

/** Scans of per-tenant tables in `node` that are not index lookups, described. */
function unboundedScans(node: PlanNode, found: string[] = []): string[] {
  const table = node['Relation Name'];
  if (table && TENANT_TABLES.has(table)) {
    const type = node['Node Type'];
    const bounded =
      ((type === 'Index Scan' || type === 'Index Only Scan') && node['Index Cond'] !== undefined) ||
      (type === 'Bitmap Heap Scan' && node['Recheck Cond'] !== undefined);
    if (!bounded) found.push(`${type} on ${table}${node['Index Name'] ? ` using ${node['Index Name']}` : ''}`);
  }
  for (const child of node.Plans ?? []) unboundedScans(child, found);
  return found;
}

/** The statements `run` sends that touch per-tenant tables, each with its unbounded scans. */
async function tenantScans(run: () => Promise<unknown>): Promise<{ text: string; unbounded: string[] }[]> {
  captured = [];
  await run();
  const statements = captured.filter((c) => /\b(endpoints|signing_keys|event_subscriptions)\b/.test(c.text) && !/^\s*(BEGIN|COMMIT|ROLLBACK|SET)/i.test(c.text));
  expect(statements.length).toBeGreaterThan(0);
  const result = [];
  for (const s of statements) {
    const [row] = await service.database.sql.unsafe(`EXPLAIN (FORMAT JSON) ${s.text}`, s.params as never[]);
    const plan = (row!['QUERY PLAN'] as { Plan: PlanNode }[])[0]!.Plan;
    result.push({ text: s.text, unbounded: unboundedScans(plan) });
  }
  return result;
}

describe('statements for one organization read only its rows', () => {
  it('publishing: the lookup of its endpoints and the statement writing events, deliveries and jobs', async () => {
    const database = { sql: cap, db: null, signalSql: cap } as unknown as Database;
    const publisher = createPublisher({ database, jobs: service.engine.jobs, wake: { send: () => {}, settled: async () => {} } as never });
    const scans = await tenantScans(() => publisher.publish(service.orgId, [{ type: 'pipeline.run.failed', data: { run: 1 } }]));
    expect(scans.some((s) => s.text.includes('catalog_unchanged'))).toBe(true);
    for (const s of scans) expect(s.unbounded, s.text).toEqual([]);
  });

  it("the worker's load of endpoint runtimes (settings and signing keys), one endpoint and a hundred", async () => {
    const load = createRuntimeLoader({ sql: cap, secretBox: createSecretBox(Buffer.from(service.masterKey, 'base64')) });
    let runtimes = new Map();
    let scans = await tenantScans(async () => (runtimes = await load([endpointId])));
    expect(runtimes.get(endpointId)).toBeDefined();
    // One lookup per id must not turn a repeated id into a second signature.
    expect((await load([endpointId, endpointId])).get(endpointId)!.signatureCount).toBe(1);
    for (const s of scans) expect(s.unbounded, s.text).toEqual([]);
    // A chunk as the worker loads them when many endpoints wake at once (the other organizations'
    // keys are not real sealed secrets: only the statements matter here).
    const chunk = Array.from({ length: 100 }, (_, i) => `ep_other_org_other_${1 + (i % 2000)}_${1 + Math.floor(i / 2000)}`);
    scans = await tenantScans(() => load(chunk).catch(() => null));
    expect(scans.some((s) => s.text.includes('signing_keys'))).toBe(true);
    for (const s of scans) expect(s.unbounded, s.text).toEqual([]);
  });
});
