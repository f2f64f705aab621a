/**
 * The situation of issue 18, at a size a test (or the docs screenshot script) can afford: a
 * receiver on loopback playing several kinds of endpoint (healthy, answering 500, hanging behind an
 * open circuit, gone with 410, flaky and signed with Ed25519, paused, idle), and pipeline events
 * published to them, one of them "run 8841's failure event". No vitest imports: scripts use it too.
 */
import type { GraphQLClient } from './graphql.js';
import { startReceiver, type Receiver } from './receiver.js';

export interface ConsoleScenario {
  receiver: Receiver;
  endpoints: Record<'healthy' | 'failing' | 'hanging' | 'gone' | 'flaky' | 'paused' | 'idle' | 'security', string>;
  /** HMAC signing secrets by endpoint id (null for the Ed25519 one). */
  secrets: Record<string, string | null>;
  /** The event the receiver says it never got: published with eventId "run_8841:failed". */
  run8841: { eventId: string; key: string };
  /** Makes a misbehaving path (/failing, /hanging, /gone, /flaky) answer 200 from now on. */
  fix(path: string): void;
  close(): Promise<void>;
}

const CREATE = `mutation($input: CreateEndpointInput!) { createEndpoint(input: $input) { endpoint { id } secret } }`;
const PUBLISH = `mutation($inputs: [PublishEventInput!]!) { publishEvents(inputs: $inputs) { event { id } } }`;

/** Waits until `check` holds (polling), or fails naming `what`. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`scenario: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Builds the scenario through the public API with `admin` (an admin key of an enterprise org) and
 * waits until it has settled: the hanging endpoint's circuit open, the 410 one disabled, the
 * failing one's deliveries dead. `runs` events per pipeline type are published (default 12).
 */
export async function buildConsoleScenario(admin: GraphQLClient, options: { runs?: number } = {}): Promise<ConsoleScenario> {
  const runs = options.runs ?? 12;
  let flakyCount = 0;
  const fixed = new Set<string>();
  const receiver = await startReceiver({
    respond: (req) => {
      const path = req.path.split('?')[0]!;
      if (fixed.has(path)) return { status: 200, body: 'ok' };
      if (path === '/failing') return { status: 500, body: '{"error":"internal error in billing sync"}', headers: { 'content-type': 'application/json' } };
      if (path === '/hanging') return { hang: true };
      if (path === '/gone') return { status: 410, body: 'This hook was removed.' };
      if (path === '/flaky') return ++flakyCount % 4 === 0 ? { status: 502, body: 'bad gateway' } : { status: 200 };
      return { status: 200, body: 'ok' };
    },
  });
  const secrets: Record<string, string | null> = {};
  const create = async (input: Record<string, unknown>): Promise<string> => {
    const { createEndpoint } = await admin.data(CREATE, { input });
    secrets[createEndpoint.endpoint.id] = createEndpoint.secret;
    return createEndpoint.endpoint.id;
  };
  const url = (path: string): string => `${receiver.url}${path}`;
  const pipeline = ['pipeline.run.*'];
  const endpoints = {
    healthy: await create({ url: url('/healthy'), description: 'Orders warehouse sync', labels: ['team:data-engineering'], patterns: pipeline }),
    failing: await create({
      url: url('/failing'),
      description: 'Billing sync',
      labels: ['team:billing'],
      patterns: pipeline,
      // No breaker: it keeps answering 500 and every delivery dies.
      circuitBreaker: { enabled: false },
      retryPolicy: { maxAttempts: 2, initialBackoffSeconds: 1, maxBackoffSeconds: 1 },
    }),
    hanging: await create({
      url: url('/hanging'),
      description: 'Analytics ingest',
      labels: ['team:analytics'],
      patterns: pipeline,
      timeoutMs: 1000,
      maxInFlight: 4,
      circuitBreaker: { enabled: true, failureThreshold: 3, cooldownSeconds: 3600 },
      retryPolicy: { maxAttempts: 8, initialBackoffSeconds: 3600, maxBackoffSeconds: 36000 },
    }),
    gone: await create({ url: url('/gone'), description: 'Legacy CRM hook', patterns: ['pipeline.run.failed'] }),
    flaky: await create({
      url: url('/flaky?tenant=acme'),
      description: 'Partner webhook (Ed25519)',
      labels: ['team:partners'],
      patterns: pipeline,
      signingAlgorithm: 'ED25519',
      circuitBreaker: { enabled: false },
      retryPolicy: { maxAttempts: 3, initialBackoffSeconds: 1, maxBackoffSeconds: 1 },
      headers: [{ name: 'x-partner-token', value: 'partner-secret-token' }],
    }),
    paused: await create({ url: url('/healthy?paused'), description: 'Data quality bot (paused)', patterns: ['pipeline.run.failed'] }),
    idle: await create({ url: url('/healthy?idle'), description: 'Staging (no traffic yet)', patterns: ['governance.*'] }),
    security: await create({ url: url('/healthy?security'), description: 'Security alerts', labels: ['team:security'], patterns: ['security.*'] }),
  };
  await admin.data(`mutation($id: ID!) { pauseEndpoint(id: $id) { id } }`, { id: endpoints.paused });

  const inputs: Record<string, unknown>[] = [];
  for (let i = 0; i < runs; i++) {
    const run = 8830 + i;
    inputs.push({ type: 'pipeline.run.started', data: { runId: `run_${run}`, pipeline: 'nightly-etl' }, eventId: `run_${run}:started`, orderingKey: `run_${run}` });
    const failed = run === 8841 || i % 3 === 0;
    inputs.push({
      type: failed ? 'pipeline.run.failed' : 'pipeline.run.succeeded',
      data: failed ? { runId: `run_${run}`, pipeline: 'nightly-etl', error: 'OOMKilled in stage transform', stage: 'transform' } : { runId: `run_${run}`, pipeline: 'nightly-etl', rows: 120_000 + i },
      eventId: `run_${run}:${failed ? 'failed' : 'succeeded'}`,
      orderingKey: `run_${run}`,
    });
  }
  if (runs < 12) inputs.push({ type: 'pipeline.run.failed', data: { runId: 'run_8841', pipeline: 'nightly-etl', error: 'OOMKilled in stage transform' }, eventId: 'run_8841:failed', orderingKey: 'run_8841' });
  await admin.data(PUBLISH, { inputs });
  const found = await admin.data(`{ events(first: 1, filter: { eventId: "run_8841:failed" }) { edges { node { id } } } }`);
  const run8841 = { eventId: found.events.edges[0].node.id as string, key: 'run_8841:failed' };

  const endpoint = (id: string) => admin.data(`query($id: ID!) { endpoint(id: $id) { active circuitState } }`, { id });
  await until('the hanging endpoint circuit to open', async () => (await endpoint(endpoints.hanging)).endpoint.circuitState === 'OPEN');
  await until('the 410 endpoint to be disabled', async () => !(await endpoint(endpoints.gone)).endpoint.active);
  await until('the failing endpoint deliveries to die', async () => {
    const d = await admin.data(`query($id: ID!) { deliveries(first: 500, filter: { endpointId: $id, statuses: [PENDING] }) { edges { node { id } } } }`, { id: endpoints.failing });
    return d.deliveries.edges.length === 0;
  });
  await until('the flaky endpoint deliveries to settle', async () => {
    const d = await admin.data(`query($id: ID!) { deliveries(first: 500, filter: { endpointId: $id, statuses: [PENDING] }) { edges { node { id } } } }`, { id: endpoints.flaky });
    return d.deliveries.edges.length === 0;
  });
  return { receiver, endpoints, secrets, run8841, fix: (path) => fixed.add(path), close: () => receiver.close() };
}
