import PgBoss from 'pg-boss';
import postgres from 'postgres';
import { randomBytes } from 'node:crypto';
import { createDeliveryJobs } from '../../server/db/repos/deliveryJobs.js';
import { upgradeLegacyQueues } from '../../server/engine/queueUpgrade.js';
import { createLogger } from '../../server/logger.js';
const N = Number(process.argv[2] ?? 2000);
const PER = Number(process.argv[3] ?? 10);
const admin = postgres('postgres://postgres@127.0.0.1:5432/postgres', { max: 1, onnotice: () => {} });
const name = 'upg_' + randomBytes(4).toString('hex');
const template = `upg_legacy_${N}_${PER}`;
const [exists] = await admin`SELECT 1 FROM pg_database WHERE datname = ${template}`;
const url = `postgres://postgres@127.0.0.1:5432/${exists ? name : template}`;
if (exists) await admin.unsafe(`CREATE DATABASE ${name} TEMPLATE ${template}`);
else await admin.unsafe(`CREATE DATABASE ${template}`);
if (!exists) {
const boss = new PgBoss({ connectionString: url, max: 2, supervise: false, schedule: false });
await boss.start(); await boss.stop({ graceful: false, wait: true, close: true });
const sql = postgres(url, { max: 2, onnotice: () => {} });
const opts = JSON.stringify({ policy: 'standard', retryLimit: 1000000, retryDelay: 0, retryBackoff: false, expireInSeconds: 300, retentionMinutes: 20160 });
let t = Date.now();
// As the first version built it: the FIFO index first (inherited by every new partition).
await sql.unsafe(`CREATE INDEX IF NOT EXISTS job_fifo_idx ON pgboss.job (name, created_on, id) WHERE state < 'active'`);
for (let i = 0; i < N; i++) {
  await sql.begin(async (tx) => { await tx.unsafe(`SELECT pgboss.create_queue($1, $2::text::json)`, [`deliver_ep_${i}`, opts]); });
  if (PER) await sql.unsafe(`INSERT INTO pgboss.job (id, name, data, start_after, retry_limit, expire_in, keep_until, policy)
    SELECT gen_random_uuid(), 'deliver_ep_${i}', jsonb_build_object('d', 'dlv_${i}_' || j, 'e', 'evt_' || j, 'a', 0), now(), 1000000, interval '5 min', now() + interval '14 days', 'standard'
    FROM generate_series(1, ${PER}) j`);
}
console.log(`legacy layout: ${N} queues, ${N * PER} jobs, made in ${Date.now() - t} ms (kept as template; run again to measure)`);
await sql.end(); await admin.end(); process.exit(0);
}
const sql = postgres(url, { max: 2, onnotice: () => {} });
let t = Date.now();
const jobs = createDeliveryJobs(sql);
t = Date.now();
await jobs.ensureQueues();
const r = await upgradeLegacyQueues({ sql, log: createLogger('silent') });
await jobs.ensureIndex();
console.log(`upgrade: ${JSON.stringify(r)} in ${Date.now() - t} ms`);
const [c] = await sql`SELECT count(*)::int AS n FROM pgboss.job WHERE name LIKE 'deliveries\\_s%'`;
console.log('jobs in shards', c!.n);
await sql.end(); await admin.unsafe(`DROP DATABASE ${name} WITH (FORCE)`); await admin.end();
