/**
 * `npx tsx bench/tools/manyKeysPublish.ts [organizations] [--server-root DIR]`: what a publish
 * call costs when every call comes with another organization's key, as a platform publishing for
 * thousands of organizations makes it. Creates the organizations (platform credential), then
 * publishes one event per organization, 8 calls at once, in three passes: every key new to the
 * api, again at once, and again after 35 s (past the old 30 s key cache). Per pass: calls/s, CPU
 * ms per call of the api and of Postgres, Postgres commits per call. Run it against two checkouts
 * (`--server-root`) to compare; nothing else should run meanwhile.
 */
import { Pool } from 'undici';
import { createBenchDatabase, DEFAULT_ADMIN_URL } from '../lib/database.js';
import { openPostgres } from '../../server/db/client.js';
import { startService } from '../lib/service.js';
import { pooled } from '../lib/pooled.js';
import { CpuMeter } from '../lib/procStats.js';

const args = process.argv.slice(2);
const rootAt = args.indexOf('--server-root');
const serverRoot = rootAt >= 0 ? args[rootAt + 1] : undefined;
const organizations = Number(args.find((a, i) => /^\d+$/.test(a) && args[i - 1] !== '--server-root') ?? 3000);

const db = await createBenchDatabase(process.env.DATABASE_URL || DEFAULT_ADMIN_URL);
const sql = openPostgres(db.url, { max: 1, onnotice: () => {} });
const service = await startService({ databaseUrl: db.url, topology: 'split', serverRoot });
// undici's Pool, as the scale scenario's driver uses: the global fetch (bench/lib/api.ts) measured
// ~10% more api CPU per call here, and the figures in benchmarks.md were taken with this client.
const pool = new Pool(service.apiUrl, { connections: 8, pipelining: 1 });
async function call(token: string, query: string, variables: Record<string, unknown>): Promise<any> {
  const res = await pool.request({
    path: '/graphql',
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const json = (await res.body.json()) as { data?: any; errors?: unknown[] };
  if (json.errors?.length || !json.data) throw new Error(JSON.stringify(json).slice(0, 300));
  return json.data;
}

/** Each organization's own admin key. */
const keys: string[] = new Array(organizations);
await pooled(0, organizations, 8, async (i) => {
  keys[i] = (await call(service.platformToken, 'mutation($name: String!) { createOrganization(name: $name) { apiKey } }', { name: `keys-${i}` })).createOrganization.apiKey;
});

const PUBLISH = 'mutation($type: String!) { publishEvent(input: { type: $type, data: { n: 1 } }) { deliveryCount } }';
const commits = async () => {
  await new Promise((r) => setTimeout(r, 1500)); // backends report their counts within a second when idle
  return Number((await sql<{ n: string }[]>`SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()`)[0]!.n);
};
const apiPids = () => service.processes.filter((p) => p.role === 'api').map((p) => p.pid);

async function pass(name: string): Promise<void> {
  const backends = (await sql<{ pid: number }[]>`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`).map((r) => r.pid);
  const c0 = await commits();
  const api = new CpuMeter();
  const pg = new CpuMeter();
  api.begin(apiPids());
  pg.begin(backends);
  const t0 = performance.now();
  await pooled(0, organizations, 8, async (i) => void (await call(keys[i]!, PUBLISH, { type: 'pipeline.run.started' })));
  const ms = performance.now() - t0;
  const perCall = (pct: number) => ((pct / 100) * ms) / organizations;
  const apiMs = perCall(api.end());
  const pgMs = perCall(pg.end());
  const c1 = await commits();
  // The commit reader's own two statements are left out.
  process.stdout.write(
    `${name.padEnd(28)} ${((organizations * 1000) / ms).toFixed(0).padStart(5)} calls/s  api ${apiMs.toFixed(2)} ms/call  pg ${pgMs.toFixed(2)} ms/call  commits/call ${((c1 - c0 - 2) / organizations).toFixed(2)}\n`,
  );
}

try {
  await pass('every key new');
  await pass('again at once');
  await new Promise((r) => setTimeout(r, 35_000));
  await pass('again after 35 s');
} finally {
  await pool.close();
  await service.stop();
  await sql.end();
  await db.drop();
}
