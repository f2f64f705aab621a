import { eq, inArray, sql as dsql } from 'drizzle-orm';
import { connectDatabase } from '../../server/db/client.js';
import { deliveries, deliveryAttempts, endpoints } from '../../server/db/schema.js';
const database = connectDatabase({ url: 'postgres://postgres@localhost/lat_probe?host=/var/run/postgresql', poolSize: 4 });
const db = database.db;
const ids = Array.from({ length: 10 }, (_, i) => `att_${i}`);
const eids = ['ep_1', 'ep_2'];
const build = () => Promise.all([
  db.select({ attempt: deliveryAttempts, delivery: deliveries }).from(deliveryAttempts).leftJoin(deliveries, eq(deliveries.id, deliveryAttempts.deliveryId)).where(inArray(deliveryAttempts.id, ids)),
  db.select().from(endpoints).where(inArray(endpoints.id, eids)),
]);
const p1 = db.select({ attempt: deliveryAttempts, delivery: deliveries }).from(deliveryAttempts).leftJoin(deliveries, eq(deliveries.id, deliveryAttempts.deliveryId)).where(dsql`${deliveryAttempts.id} = ANY(${dsql.placeholder('ids')}::text[])`).prepare('live_attempts');
const p2 = db.select().from(endpoints).where(dsql`${endpoints.id} = ANY(${dsql.placeholder('ids')}::text[])`).prepare('live_endpoints');
const prepared = () => Promise.all([p1.execute({ ids }), p2.execute({ ids: eids })]);
for (const [name, fn] of [['build', build], ['prepared', prepared], ['build', build], ['prepared', prepared]] as const) {
  const c0 = process.cpuUsage(); const t0 = performance.now();
  for (let i = 0; i < 2000; i++) await fn();
  const c = process.cpuUsage(c0);
  console.log(name, ((c.user + c.system) / 1000 / 2000).toFixed(3), 'ms cpu/iter', ((performance.now() - t0) / 2000).toFixed(3), 'ms wall');
}
await database.close?.();
process.exit(0);
