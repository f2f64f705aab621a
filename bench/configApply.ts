/**
 * applyConfiguration at size, and what it does to another tenant:
 * `DATABASE_URL=postgres://... npx tsx bench/configApply.ts [--endpoints 100]`.
 *
 * On a scratch database, one organization applies a document of N endpoints (create), applies it
 * again (no-op), dry-runs it, changes every endpoint, exports, and prunes everything, while a
 * bystander organization publishes one event at a time and creates an endpoint every 250 ms. Then
 * publishEvent is timed with and without an Idempotency-Key. Prints one JSON line; the scratch
 * database is dropped at the end.
 */
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { openPostgres } from '../server/db/client.js';
import { loadConfig } from '../server/config.js';
import { createLogger } from '../server/logger.js';
import { startService } from '../server/service.js';

const adminUrl = process.env.DATABASE_URL;
if (!adminUrl) throw new Error('DATABASE_URL (a server to create a scratch database on) is required');
const arg = (name: string, fallback: number) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
};
const endpointCount = arg('endpoints', 100);
const dbName = `wh_bench_config_${Date.now()}`;
const admin = openPostgres(adminUrl, { max: 1, onnotice: () => {} });
await admin.unsafe(`CREATE DATABASE "${dbName}"`);
const url = new URL(adminUrl);
url.pathname = `/${dbName}`;

const receiver = http.createServer((_req, res) => res.end());
await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

const config = loadConfig({
  DATABASE_URL: url.toString(),
  WEBHOOKS_MASTER_KEY: randomBytes(32).toString('base64'),
  WEBHOOKS_ALLOWED_CIDRS: '127.0.0.0/8',
  WEBHOOKS_ALLOW_HTTP: 'true',
  LOG_LEVEL: 'warn',
  PORT: '1',
  HOST: '127.0.0.1',
});
config.port = 0;
const service = await startService(config, createLogger(config.logLevel));

async function gql(apiKey: string, query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  const response = await fetch(`${service.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}`, ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: any; errors?: unknown[] };
  if (body.errors) throw new Error(JSON.stringify(body.errors).slice(0, 500));
  return body.data;
}

const pct = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! * 10) / 10 : null;
};
const timed = async <T>(fn: () => Promise<T>): Promise<[number, T]> => {
  const start = performance.now();
  const value = await fn();
  return [Math.round(performance.now() - start), value];
};

try {
  const tenant = await service.services.organizations.createOrganization({ name: 'config-tenant', plan: 'enterprise' });
  const bystander = await service.services.organizations.createOrganization({ name: 'bystander', plan: 'enterprise' });
  for (let i = 0; i < 20; i++) {
    await gql(bystander.apiKey, `mutation($input: CreateEndpointInput!) { createEndpoint(input: $input) { endpoint { id } } }`, {
      input: { url: `${receiverUrl}/b${i}`, patterns: ['pipeline.run.failed'] },
    });
  }

  // The bystander's traffic, recorded by phase.
  let phase = 'baseline';
  const publishMs = new Map<string, number[]>();
  const createMs = new Map<string, number[]>();
  let running = true;
  const record = (map: Map<string, number[]>, ms: number) => (map.get(phase) ?? map.set(phase, []).get(phase)!).push(ms);
  // Failures are counted, not fatal: what one tenant's apply does to another is what is measured.
  const failures = new Map<string, string[]>();
  const attempt = async (map: Map<string, number[]>, fn: () => Promise<unknown>) => {
    try {
      const [ms] = await timed(fn);
      record(map, ms);
    } catch (err) {
      (failures.get(phase) ?? failures.set(phase, []).get(phase)!).push(String(err).slice(0, 200));
    }
  };
  const publisher = (async () => {
    while (running) {
      await attempt(publishMs, () => gql(bystander.apiKey, `mutation { publishEvent(input: { type: "pipeline.run.failed", data: { n: 1 } }) { deliveryCount } }`));
    }
  })();
  let n = 0;
  const creator = (async () => {
    while (running) {
      await attempt(createMs, () => gql(bystander.apiKey, `mutation($input: CreateEndpointInput!) { createEndpoint(input: $input) { endpoint { id } } }`, { input: { url: `${receiverUrl}/c${n++}` } }));
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  await new Promise((r) => setTimeout(r, 3000));

  const document = (description: string) => ({
    eventTypes: { 'acme.thing.happened': { description: 'A thing happened.' } },
    endpoints: Object.fromEntries(
      Array.from({ length: endpointCount }, (_, i) => [
        `ep-${i}`,
        { url: `${receiverUrl}/t${i}`, description, labels: ['team:a'], headers: { Authorization: `Bearer ${i}` }, patterns: ['acme.thing.happened', 'pipeline.*'] },
      ]),
    ),
  });
  const APPLY = `mutation($document: JSON!, $dryRun: Boolean, $prune: Boolean) { applyConfiguration(document: $document, dryRun: $dryRun, prune: $prune) { changes { action } } }`;
  const phases: Record<string, number> = {};
  for (const [name, run] of [
    ['create', () => gql(tenant.apiKey, APPLY, { document: document('first') })],
    ['noop', () => gql(tenant.apiKey, APPLY, { document: document('first') })],
    ['dryRunNoop', () => gql(tenant.apiKey, APPLY, { document: document('first'), dryRun: true })],
    ['updateAll', () => gql(tenant.apiKey, APPLY, { document: document('second') })],
    ['export', () => gql(tenant.apiKey, `query { exportConfiguration }`)],
    ['pruneAll', () => gql(tenant.apiKey, APPLY, { document: { eventTypes: document('x').eventTypes }, prune: true })],
  ] as const) {
    phase = name;
    const [ms] = await timed(run);
    phases[`${name}Ms`] = ms;
    process.stderr.write(`[config bench] ${name}: ${ms} ms\n`);
  }
  phase = 'after';
  await new Promise((r) => setTimeout(r, 1000));
  running = false;
  await Promise.all([publisher, creator]);

  // publishEvent with and without an Idempotency-Key, alternating.
  const withKey: number[] = [];
  const without: number[] = [];
  for (let i = 0; i < 300; i++) {
    const [a] = await timed(() => gql(bystander.apiKey, `mutation { publishEvent(input: { type: "pipeline.run.failed", data: { i: ${i} } }) { deliveryCount } }`));
    const [b] = await timed(() =>
      gql(bystander.apiKey, `mutation { publishEvent(input: { type: "pipeline.run.failed", data: { i: ${i} } }) { deliveryCount } }`, {}, { 'idempotency-key': `k-${i}` }),
    );
    without.push(a);
    withKey.push(b);
  }

  const bystanderStats = Object.fromEntries(
    [...publishMs.keys()].map((p) => [
      p,
      { publishes: publishMs.get(p)!.length, publishP50Ms: pct(publishMs.get(p)!, 50), publishP99Ms: pct(publishMs.get(p)!, 99), publishMaxMs: pct(publishMs.get(p)!, 100), createEndpointMaxMs: pct(createMs.get(p) ?? [], 100) },
    ]),
  );
  process.stdout.write(
    `${JSON.stringify({
      endpoints: endpointCount,
      ...phases,
      bystander: bystanderStats,
      bystanderFailures: Object.fromEntries([...failures].map(([p, list]) => [p, { count: list.length, first: list[0] }])),
      publishP50MsWithoutKey: pct(without, 50),
      publishP50MsWithKey: pct(withKey, 50),
      publishP99MsWithoutKey: pct(without, 99),
      publishP99MsWithKey: pct(withKey, 99),
    })}\n`,
  );
} finally {
  await service.stop();
  receiver.close();
  await admin.unsafe(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
  await admin.end();
}
