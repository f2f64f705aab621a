/**
 * The bystander of the hostile-tenant suite: another organization making ordinary requests
 * (a query loop) and deliveries (a publish every 50 ms to its own loopback receiver) while an
 * attack runs, and the same with no attack, so its latency under attack can be compared with a
 * quiet value measured in the same test on the same (shared) machine.
 */
import { fork } from 'node:child_process';
import { startReceiver, type Receiver } from '../helpers/receiver.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** p-th percentile (0–100), nearest rank (as support.ts; this module also runs in a child process). */
function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export interface Sample {
  /** Request latencies (ms) of the query and publish loops. */
  requests: number[];
  /** Publish → receipt at the bystander's receiver (ms). */
  deliveries: number[];
  /** Requests that failed (must stay 0). */
  failures: string[];
}

export interface Figures {
  requestsP99Ms: number;
  deliveriesP99Ms: number;
  requests: number;
  deliveries: number;
}

export const figuresOf = (s: Sample): Figures => ({
  requestsP99Ms: round(percentile(s.requests, 99)),
  deliveriesP99Ms: round(percentile(s.deliveries, 99)),
  requests: s.requests.length,
  deliveries: s.deliveries.length,
});

const round = (ms: number) => Math.round(ms * 10) / 10;

export function createBystander(options: { url: string; apiKey: string; receiver: Receiver; eventType: string }) {
  const sentAt = new Map<string, number>();
  const received = new Map<string, number>();
  options.receiver.setResponder((req) => {
    const id = req.headers['webhook-id'];
    if (id && !received.has(id)) received.set(id, performance.now());
    return { status: 200 };
  });

  async function call(body: string): Promise<{ ms: number; ok: boolean; text: string }> {
    const started = performance.now();
    try {
      const response = await fetch(`${options.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${options.apiKey}` },
        body,
      });
      const text = await response.text();
      return { ms: performance.now() - started, ok: response.ok && !text.includes('"errors"'), text };
    } catch (err) {
      return { ms: performance.now() - started, ok: false, text: String(err) };
    }
  }

  const QUERY = JSON.stringify({ query: '{ endpoints(first: 5) { edges { node { id circuitState } } } viewer { role } }' });
  let sequence = 0;

  return {
    /** Runs both loops for `durationMs`, then waits (up to 10 s) for the deliveries published meanwhile. */
    async measure(durationMs: number): Promise<Sample> {
      const sample: Sample = { requests: [], deliveries: [], failures: [] };
      const until = performance.now() + durationMs;
      const published: string[] = [];
      const queries = (async () => {
        while (performance.now() < until) {
          const r = await call(QUERY);
          sample.requests.push(r.ms);
          if (!r.ok) sample.failures.push(r.text.slice(0, 200));
        }
      })();
      const publishes = (async () => {
        while (performance.now() < until) {
          const eventId = `bystander-${process.pid}-${++sequence}`;
          const tick = performance.now();
          const body = JSON.stringify({
            query: 'mutation($i: PublishEventInput!) { publishEvent(input: $i) { event { id } } }',
            variables: { i: { type: options.eventType, data: { n: sequence }, eventId } },
          });
          const r = await call(body);
          sample.requests.push(r.ms);
          if (r.ok) {
            const id = /"id":"(evt_[^"]+)"/.exec(r.text)?.[1];
            if (id) {
              sentAt.set(id, tick);
              published.push(id);
            }
          } else sample.failures.push(r.text.slice(0, 200));
          await sleep(Math.max(0, 50 - (performance.now() - tick)));
        }
      })();
      await Promise.all([queries, publishes]);
      const deadline = performance.now() + 10_000;
      while (performance.now() < deadline && published.some((id) => !received.has(id))) await sleep(20);
      for (const id of published) {
        const at = received.get(id);
        if (at === undefined) sample.failures.push(`delivery of ${id} not received within 10 s`);
        else sample.deliveries.push(at - sentAt.get(id)!);
      }
      return sample;
    },
  };
}

/**
 * The bystander in a process of its own, so that what the test process spends sending an attack
 * (500 requests a second, 16 MB bodies, a receiver answering with 10,000 headers) does not show
 * in the bystander's latency: only what the service does to it. It creates its endpoint (to a
 * receiver of its own) with the bystander organization's admin key.
 */
export async function startBystanderProcess(options: { url: string; apiKey: string; eventType: string }) {
  const child = fork(new URL('./bystanderProcess.ts', import.meta.url).pathname, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, BYSTANDER: JSON.stringify(options) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  type Reply = { ready?: boolean; sample?: Sample; error?: string };
  const replies: { resolve(message: Reply): void; reject(err: Error): void }[] = [];
  child.on('message', (message: Reply) => replies.shift()?.resolve(message));
  child.on('exit', (code) => {
    for (const waiting of replies.splice(0)) waiting.reject(new Error(`bystander process exited with ${code}`));
  });
  const next = () => new Promise<Reply>((resolve, reject) => replies.push({ resolve, reject }));
  const ready = await next();
  if (ready.error) throw new Error(`bystander: ${ready.error}`);
  return {
    async measure(durationMs: number): Promise<Sample> {
      const reply = next();
      child.send({ measure: durationMs });
      const message = await reply;
      if (!message.sample) throw new Error(`bystander: ${message.error}`);
      return message.sample;
    },
    stop: () => child.kill(),
  };
}

/** The child's side (bystanderProcess.ts): its receiver, its endpoint, then measurements on request. */
export async function runBystanderChild(options: { url: string; apiKey: string; eventType: string }): Promise<{ measure(ms: number): Promise<Sample> }> {
  const receiver = await startReceiver();
  const response = await fetch(`${options.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${options.apiKey}` },
    body: JSON.stringify({
      query: 'mutation($i: CreateEndpointInput!) { createEndpoint(input: $i) { endpoint { id } } }',
      variables: { i: { url: `${receiver.url}/bystander`, patterns: [options.eventType] } },
    }),
  });
  const body = (await response.json()) as { errors?: unknown };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return createBystander({ ...options, receiver });
}

/**
 * The bystander's p99 under attack against 2× its quiet p99, the quiet one being the larger of
 * the runs before and after the attack (the machine is shared: its load drifts) and at least
 * `floorMs` (a 5 ms p99 doubled is within scheduling noise of a busy 2-core machine).
 */
export function judge(quietBefore: Sample, attacked: Sample, quietAfter: Sample, floor = { requestsMs: 25, deliveriesMs: 50 }) {
  const before = figuresOf(quietBefore);
  const after = figuresOf(quietAfter);
  const during = figuresOf(attacked);
  const quietRequests = Math.max(before.requestsP99Ms, after.requestsP99Ms, floor.requestsMs);
  const quietDeliveries = Math.max(before.deliveriesP99Ms, after.deliveriesP99Ms, floor.deliveriesMs);
  return {
    quietBefore: before,
    attacked: during,
    quietAfter: after,
    requestsRatio: round(during.requestsP99Ms / quietRequests),
    deliveriesRatio: round(during.deliveriesP99Ms / quietDeliveries),
    ok: during.requestsP99Ms <= 2 * quietRequests && during.deliveriesP99Ms <= 2 * quietDeliveries,
    failures: [...quietBefore.failures, ...attacked.failures, ...quietAfter.failures],
  };
}
