/**
 * The platform-scale scenario's client, a process of its own: it provisions organizations with the
 * platform credential, creates their endpoints with each organization's own admin key (as their
 * admins would, 8 calls at once), and publishes as the platform does, one organization per call.
 * It speaks the loadgen's flow protocol (flowStart / received / flowStop) so the orchestrator's
 * measureFlow drives it.
 */
import { Pool } from 'undici';
import { nowMs, serve } from '../lib/ipc.js';
import { payloadOf } from '../lib/payload.js';
import { pooled } from '../lib/pooled.js';

const PAYLOAD_JSON = JSON.stringify(payloadOf());
const PUBLISH = 'mutation($inputs: [PublishEventInput!]!) { publishEvents(inputs: $inputs) { deliveryCount event { id } } }';

let pool: Pool | null = null;
let platformToken = '';
/** Admin keys of the organizations created, in creation order. */
const keys: string[] = [];
/** Event types: endpoint k of every organization subscribes to types[k]. */
let types: string[] = [];

async function call(token: string, query: string, variables: Record<string, unknown>): Promise<any> {
  const res = await pool!.request({
    path: '/graphql',
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.body.text();
  const json = JSON.parse(text) as { data?: any; errors?: unknown[] };
  if (json.errors?.length || !json.data) throw new Error(`GraphQL ${res.statusCode}: ${text.slice(0, 400)}`);
  return json.data;
}

/** One publishEvents call for organization `org`: one event of each type in `eventTypes`. */
async function publishFor(org: number, eventTypes: string[]): Promise<string[]> {
  const inputs = eventTypes.map((t) => `{"type":${JSON.stringify(t)},"data":${PAYLOAD_JSON}}`).join(',');
  const res = await pool!.request({
    path: '/graphql',
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${keys[org]}` },
    body: `{"query":${JSON.stringify(PUBLISH)},"variables":{"inputs":[${inputs}]}}`,
  });
  const text = await res.body.text();
  const json = JSON.parse(text) as { data?: { publishEvents: { event: { id: string } }[] }; errors?: unknown[] };
  if (json.errors?.length || !json.data) throw new Error(`publishEvents failed (${res.statusCode}): ${text.slice(0, 300)}`);
  return json.data.publishEvents.map((p) => p.event.id);
}

// ---- flow-controlled publishing (protocol of loadgen.ts)
let flow: {
  spec: { spread: 'one' | 'all'; countPerEvent: number; concurrency: number; window: number };
  running: boolean;
  received: number;
  published: number;
  inflight: number;
  nextOrg: number;
  events: number;
  calls: number;
  errors: number;
  lastError: string | null;
  callMs: number[];
  loops: Promise<void>[];
  wake: (() => void) | null;
} | null = null;

async function flowLoop(): Promise<void> {
  const f = flow!;
  // Every call publishes one event of each type: each of the organization's endpoints gets one.
  const perCall = types.length * f.spec.countPerEvent;
  while (f.running) {
    if (f.published + f.inflight - f.received + perCall > f.spec.window) {
      await new Promise<void>((resolve) => {
        f.wake = resolve;
        setTimeout(resolve, 50);
      });
      continue;
    }
    // 'one': always the first organization (its 10 endpoints); 'all': the next organization each
    // call, so every delivery of a cycle goes to a different endpoint.
    const org = f.spec.spread === 'one' ? 0 : f.nextOrg++ % keys.length;
    f.inflight += perCall;
    const started = nowMs();
    try {
      await publishFor(org, types);
      f.published += perCall;
      f.events += types.length;
      f.calls++;
      if (f.callMs.length < 100_000) f.callMs.push(nowMs() - started);
    } catch (err) {
      f.errors++;
      f.lastError = (err as Error).message;
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      f.inflight -= perCall;
    }
  }
}

serve({
  init(arg: { apiUrl: string; platformToken: string; types: string[] }) {
    pool = new Pool(arg.apiUrl, { connections: 16, pipelining: 1, keepAliveTimeout: 60_000 });
    platformToken = arg.platformToken;
    types = arg.types;
  },

  /** Creates organizations through createOrganization (platform credential). */
  async createOrganizations(arg: { count: number; concurrency: number; prefix: string }) {
    const started = nowMs();
    const from = keys.length;
    const created: string[] = new Array(arg.count);
    await pooled(0, arg.count, arg.concurrency, async (i) => {
      const data = await call(platformToken, 'mutation($name: String!) { createOrganization(name: $name) { apiKey } }', {
        name: `${arg.prefix}-${from + i}`,
      });
      created[i] = data.createOrganization.apiKey;
    });
    keys.push(...created);
    return { organizations: keys.length, perSecond: (arg.count * 1000) / (nowMs() - started) };
  },

  /**
   * Creates the endpoints of organizations [from, to) with their own admin keys, `concurrency`
   * calls at once: endpoint k subscribes to types[k] and points at `${urlBase}/<org>/<k>`.
   */
  async createEndpoints(arg: { from: number; to: number; perOrg: number; urlBase: string; concurrency: number }) {
    const started = nowMs();
    const total = (arg.to - arg.from) * arg.perOrg;
    const first = arg.from * arg.perOrg;
    await pooled(first, first + total, arg.concurrency, async (n) => {
      const org = Math.floor(n / arg.perOrg);
      const k = n % arg.perOrg;
      await call(keys[org]!, 'mutation($input: CreateEndpointInput!) { createEndpoint(input: $input) { endpoint { id } } }', {
        input: { url: `${arg.urlBase}/${org}/${k}`, patterns: [types[k % types.length]], description: `scale ${org}/${k}` },
      });
    });
    return { created: total, perSecond: (total * 1000) / (nowMs() - started) };
  },

  /** `count` single-event publishes from organization 0, one at a time: each call's duration. */
  async probePublish(arg: { count: number; intervalMs: number }) {
    const ms: number[] = [];
    for (let i = 0; i < arg.count; i++) {
      const started = nowMs();
      await publishFor(0, [types[i % types.length]!]);
      ms.push(nowMs() - started);
      await new Promise((r) => setTimeout(r, arg.intervalMs));
    }
    return ms;
  },

  /**
   * Open loop: `ratePerSecond` events, each to a random organization with a random type (one
   * delivery each), for `durationMs`. Returns event id → scheduled time, and event id → the time
   * its publish call answered (so a slow receipt says whether the call or the delivery was slow).
   */
  async open(arg: { ratePerSecond: number; durationMs: number; batchMs: number }) {
    const scheduled = new Map<string, number>();
    const answered = new Map<string, number>();
    const inflight = new Set<Promise<void>>();
    let errors = 0;
    let lastError: string | null = null;
    const start = nowMs();
    const perTick = Math.max(1, Math.round((arg.ratePerSecond * arg.batchMs) / 1000));
    for (let tick = 0; ; tick++) {
      const at = start + tick * arg.batchMs;
      if (at - start >= arg.durationMs) break;
      const wait = at - nowMs();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      for (let i = 0; i < perTick; i++) {
        const org = Math.floor(Math.random() * keys.length);
        const type = types[Math.floor(Math.random() * types.length)]!;
        const p = publishFor(org, [type])
          .then((ids) => {
            const done = nowMs();
            for (const id of ids) {
              scheduled.set(id, at);
              answered.set(id, done);
            }
          })
          .catch((err) => {
            errors++;
            lastError = (err as Error).message;
          })
          .finally(() => inflight.delete(p));
        inflight.add(p);
      }
    }
    await Promise.all([...inflight]);
    return { scheduled, answered, errors, lastError };
  },

  flowStart(spec: { spread: 'one' | 'all'; countPerEvent: number; concurrency: number; window: number }) {
    flow = { spec, running: true, received: 0, published: 0, inflight: 0, nextOrg: 0, events: 0, calls: 0, errors: 0, lastError: null, callMs: [], loops: [], wake: null };
    for (let i = 0; i < spec.concurrency; i++) flow.loops.push(flowLoop());
  },
  received(count: number) {
    if (!flow) return { published: 0 };
    flow.received = count;
    flow.wake?.();
    return { published: flow.published };
  },
  async flowStop() {
    if (!flow) return null;
    const f = flow;
    f.running = false;
    f.wake?.();
    await Promise.all(f.loops);
    flow = null;
    return { events: f.events, deliveries: f.published, calls: f.calls, errors: f.errors, lastError: f.lastError, callMs: f.callMs };
  },

  async close() {
    await pool?.close();
  },
});
