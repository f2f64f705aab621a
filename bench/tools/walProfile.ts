/**
 * `npx tsx bench/tools/walProfile.ts <database-url> [seconds]`: where the WAL of the delivery path
 * goes, per delivery and per table or index. Run it while a bench throughput run delivers (another
 * terminal, `npm run bench -- --only throughput`, the database named in the bench's log): it reads
 * the WAL position, waits `seconds` (default 5), reads it again, counts the attempts made in that
 * time (attempt ids carry their start time), and decodes the WAL in between with `pg_waldump`
 * (Postgres's own tool; the data directory must be on this machine), summing each record's size by
 * the relation it changed. Partitions count under their parent table or index; pg-boss's
 * per-queue indexes under their suffix. Keep the window short: a checkpoint recycles WAL files,
 * and past max_wal_size (1 GB stock) the oldest may be gone before they are read.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import postgres from 'postgres';
import { idLowerBound } from '../../server/domain/ids.js';

const [url, secondsArg] = process.argv.slice(2);
if (!url) {
  process.stderr.write('usage: walProfile <database-url> [seconds]\n');
  process.exit(2);
}
const seconds = Number(secondsArg ?? 5);
const sql = postgres(url, { max: 1, onnotice: () => {} });

const lsn = async () => (await sql<{ lsn: string }[]>`SELECT pg_current_wal_lsn()::text AS lsn`)[0]!.lsn;
const { dir, version } = (await sql<{ dir: string; version: string }[]>`
  SELECT current_setting('data_directory') AS dir, current_setting('server_version_num') AS version`)[0]!;
const databaseOid = (await sql<{ oid: string }[]>`SELECT oid::text FROM pg_database WHERE datname = current_database()`)[0]!.oid;

const t0 = Date.now();
const start = await lsn();
await new Promise((r) => setTimeout(r, seconds * 1000));
const end = await lsn();
const t1 = Date.now();
// Attempts are recorded in batches up to a second or so after they start: count those started in
// the window once they are all in (attempts started before it and recorded in it balance out).
await new Promise((r) => setTimeout(r, 3000));
const attempts = (
  await sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM delivery_attempts WHERE id >= ${idLowerBound('attempt', t0)} AND id < ${idLowerBound('attempt', t1)}`
)[0]!.n;

// Each relation by its file number: partitions and partition indexes under their parent, pg-boss's
// per-queue partitions ("j" + a hash of the queue name) under one name per suffix.
const relations = await sql<{ filenode: string; name: string; kind: string }[]>`
  SELECT c.relfilenode::text AS filenode, c.relkind::text AS kind,
         coalesce(p.relname, c.relname) AS name
  FROM pg_class c
  LEFT JOIN pg_inherits i ON i.inhrelid = c.oid
  LEFT JOIN pg_class p ON p.oid = i.inhparent
  WHERE c.relfilenode <> 0`;
const nameOf = new Map(
  relations.map((r) => [r.filenode, `${r.name.replace(/^j[0-9a-f]{56}(_|$)/, 'pgboss.job$1').replace(/^j[0-9a-f]{32}_/, 'pgboss.job_')}${r.kind === 'i' ? ' (index)' : ''}`]),
);

const bin = `/usr/lib/postgresql/${Math.floor(Number(version) / 10000)}/bin/pg_waldump`;
const dump = spawn(bin, ['-p', `${dir}/pg_wal`, '--start', start, '--end', end], { stdio: ['ignore', 'pipe', 'inherit'] });
const byRelation = new Map<string, { bytes: number; records: number; fpi: number }>();
const byRecord = new Map<string, { bytes: number; records: number }>();
let total = 0;
for await (const line of createInterface({ input: dump.stdout })) {
  // rmgr: Btree len (rec/tot): 64/ 64, tx: 1, lsn: 0/1, prev 0/0, desc: INSERT_LEAF off 5, blkref #0: rel 1663/5/16999 blk 3 FPW
  const m = /^rmgr: (\S+)\s+len \(rec\/tot\):\s*\d+\/\s*(\d+),.*?desc: (\S+)(.*)$/.exec(line);
  if (!m) continue;
  const [, rmgr, tot, op, rest] = m;
  const bytes = Number(tot);
  total += bytes;
  const rel = /blkref #0: rel \d+\/(\d+)\/(\d+)/.exec(rest!);
  const name = !rel ? '(no relation)' : rel[1] !== databaseOid ? '(another database or shared)' : (nameOf.get(rel[2]!) ?? `(file ${rel[2]})`);
  const r = byRelation.get(name) ?? { bytes: 0, records: 0, fpi: 0 };
  r.bytes += bytes;
  r.records += 1;
  if (/ FPW| FPI/.test(rest!)) r.fpi += 1;
  byRelation.set(name, r);
  const key = `${rmgr}/${op}`;
  const k = byRecord.get(key) ?? { bytes: 0, records: 0 };
  k.bytes += bytes;
  k.records += 1;
  byRecord.set(key, k);
}
await sql.end();

const per = (n: number) => (attempts ? (n / attempts).toFixed(n / attempts < 10 ? 2 : 0) : '—');
process.stdout.write(`${attempts.toLocaleString('en-US')} attempts in ${((t1 - t0) / 1000).toFixed(1)} s, ${total.toLocaleString('en-US')} bytes of WAL: ${per(total)} bytes per attempt\n\n`);
process.stdout.write('relation                                      bytes/attempt  records/attempt  full-page images\n');
for (const [name, r] of [...byRelation].sort((a, b) => b[1].bytes - a[1].bytes)) {
  process.stdout.write(`${name.padEnd(46)}${per(r.bytes).padStart(13)}${per(r.records).padStart(17)}${String(r.fpi).padStart(18)}\n`);
}
process.stdout.write('\nrecord type                                   bytes/attempt  records/attempt\n');
for (const [key, r] of [...byRecord].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, 20)) {
  process.stdout.write(`${key.padEnd(46)}${per(r.bytes).padStart(13)}${per(r.records).padStart(17)}\n`);
}
