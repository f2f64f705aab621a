/**
 * The endpoint form's state (strings, as typed) and its conversion to CreateEndpointInput /
 * UpdateEndpointInput. Only shape checks happen here (required URL, numbers that are numbers);
 * ranges and everything else are the server's, whose messages appear next to the same fields.
 * Pure: no imports, so it is unit-tested directly.
 */

export type SigningAlgorithm = 'HMAC_SHA256' | 'ED25519';
export type OrderingMode = 'BEST_EFFORT' | 'STRICT';

export interface HeaderRow {
  name: string;
  value: string;
}

export interface EndpointFormState {
  url: string;
  description: string;
  /** Comma- or newline-separated. */
  labels: string;
  patterns: string[];
  signingAlgorithm: SigningAlgorithm;
  timeoutMs: string;
  retryPolicy: { maxAttempts: string; initialBackoffSeconds: string; multiplier: string; maxBackoffSeconds: string };
  circuitBreaker: { enabled: boolean; failureThreshold: string; cooldownSeconds: string };
  maxInFlight: string;
  /** Empty: no limit. */
  rateLimitPerSecond: string;
  orderingMode: OrderingMode;
  headers: HeaderRow[];
  /** keep: leave mTLS as it is (edit only); none: no mTLS (removes it on edit); set: use the PEMs below. */
  tlsMode: 'keep' | 'none' | 'set';
  tls: { clientCertificatePem: string; clientKeyPem: string; caCertificatePem: string };
  /** CEL content filter; empty: none. */
  filter: string;
  /** JavaScript transformation; empty: none. */
  transformation: string;
}

/** What the API returns for an endpoint, as far as the form needs it. */
export interface EndpointSettingsData {
  url: string;
  description: string;
  labels: string[];
  eventSubscriptions: { pattern: string }[];
  signingAlgorithm: SigningAlgorithm;
  timeoutMs: number;
  retryPolicy: { maxAttempts: number; initialBackoffSeconds: number; multiplier: number; maxBackoffSeconds: number };
  circuitBreaker: { enabled: boolean; failureThreshold: number; cooldownSeconds: number };
  maxInFlight: number;
  rateLimitPerSecond: number | null;
  orderingMode: OrderingMode;
  headers: HeaderRow[];
  tls: unknown | null;
  filter?: string | null;
  transformation?: string | null;
}

/** Defaults of SPEC §3, shown in the create form so nothing is hidden. */
export function defaultFormState(): EndpointFormState {
  return {
    url: '',
    description: '',
    labels: '',
    patterns: [],
    signingAlgorithm: 'HMAC_SHA256',
    timeoutMs: '15000',
    retryPolicy: { maxAttempts: '8', initialBackoffSeconds: '5', multiplier: '6', maxBackoffSeconds: '36000' },
    circuitBreaker: { enabled: true, failureThreshold: '10', cooldownSeconds: '60' },
    maxInFlight: '16',
    rateLimitPerSecond: '',
    orderingMode: 'BEST_EFFORT',
    headers: [],
    tlsMode: 'none',
    tls: { clientCertificatePem: '', clientKeyPem: '', caCertificatePem: '' },
    filter: '',
    transformation: '',
  };
}

export function formStateFromEndpoint(e: EndpointSettingsData): EndpointFormState {
  return {
    url: e.url,
    description: e.description,
    labels: e.labels.join(', '),
    patterns: e.eventSubscriptions.map((s) => s.pattern),
    signingAlgorithm: e.signingAlgorithm,
    timeoutMs: String(e.timeoutMs),
    retryPolicy: {
      maxAttempts: String(e.retryPolicy.maxAttempts),
      initialBackoffSeconds: String(e.retryPolicy.initialBackoffSeconds),
      multiplier: String(e.retryPolicy.multiplier),
      maxBackoffSeconds: String(e.retryPolicy.maxBackoffSeconds),
    },
    circuitBreaker: {
      enabled: e.circuitBreaker.enabled,
      failureThreshold: String(e.circuitBreaker.failureThreshold),
      cooldownSeconds: String(e.circuitBreaker.cooldownSeconds),
    },
    maxInFlight: String(e.maxInFlight),
    rateLimitPerSecond: e.rateLimitPerSecond == null ? '' : String(e.rateLimitPerSecond),
    orderingMode: e.orderingMode,
    headers: e.headers.map((h) => ({ ...h })),
    tlsMode: e.tls ? 'keep' : 'none',
    tls: { clientCertificatePem: '', clientKeyPem: '', caCertificatePem: '' },
    filter: e.filter ?? '',
    transformation: e.transformation ?? '',
  };
}

/** "team:security, on-call\nprod" → ["team:security", "on-call", "prod"] (trimmed, no empties). */
export function parseLabels(text: string): string[] {
  return text
    .split(/[,\n]/)
    .map((l) => l.trim())
    .filter(Boolean);
}

export type Problems = Record<string, string>;

function integer(text: string, field: string, label: string, problems: Problems): number | undefined {
  const t = text.trim();
  if (!t) return undefined;
  if (!/^-?\d+$/.test(t)) {
    problems[field] = `${label} must be a whole number.`;
    return undefined;
  }
  const n = Number(t);
  // Beyond GraphQL's 32-bit Int the request would fail as a whole; say it here instead.
  if (!Number.isSafeInteger(n) || Math.abs(n) > 2_147_483_647) {
    problems[field] = `${label} is far too large.`;
    return undefined;
  }
  return n;
}

function decimal(text: string, field: string, label: string, problems: Problems): number | undefined {
  const t = text.trim();
  if (!t) return undefined;
  const n = Number(t);
  if (!Number.isFinite(n)) {
    problems[field] = `${label} must be a number.`;
    return undefined;
  }
  return n;
}

function dropUndefined<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * The mutation input for the form, or the problems that stop it from being sent. Empty number
 * fields are left out (the server keeps its default or the current value), except the rate
 * limit, where empty means "no limit".
 */
export function buildEndpointInput(state: EndpointFormState, mode: 'create' | 'edit'): { input: Record<string, unknown>; problems: Problems } {
  const problems: Problems = {};
  const url = state.url.trim();
  if (!url) problems.url = 'Enter the URL that receives the webhooks, e.g. https://example.com/webhooks.';

  const retryPolicy = dropUndefined({
    maxAttempts: integer(state.retryPolicy.maxAttempts, 'retryPolicy.maxAttempts', 'Max attempts', problems),
    initialBackoffSeconds: integer(state.retryPolicy.initialBackoffSeconds, 'retryPolicy.initialBackoffSeconds', 'Initial backoff', problems),
    multiplier: decimal(state.retryPolicy.multiplier, 'retryPolicy.multiplier', 'Multiplier', problems),
    maxBackoffSeconds: integer(state.retryPolicy.maxBackoffSeconds, 'retryPolicy.maxBackoffSeconds', 'Max backoff', problems),
  });
  const circuitBreaker = dropUndefined({
    enabled: state.circuitBreaker.enabled,
    failureThreshold: integer(state.circuitBreaker.failureThreshold, 'circuitBreaker.failureThreshold', 'Failure threshold', problems),
    cooldownSeconds: integer(state.circuitBreaker.cooldownSeconds, 'circuitBreaker.cooldownSeconds', 'Cooldown', problems),
  });
  const rate = integer(state.rateLimitPerSecond, 'rateLimitPerSecond', 'Rate limit', problems);

  const headers = state.headers.filter((h) => h.name.trim() || h.value.trim()).map((h) => ({ name: h.name.trim(), value: h.value }));
  state.headers.forEach((h, i) => {
    if (!h.name.trim() && h.value.trim()) problems[`headers[${i}].name`] = 'Give the header a name, or remove the row.';
  });

  const input: Record<string, unknown> = dropUndefined({
    url,
    description: state.description.trim(),
    labels: parseLabels(state.labels),
    patterns: state.patterns,
    timeoutMs: integer(state.timeoutMs, 'timeoutMs', 'Timeout', problems),
    retryPolicy,
    circuitBreaker,
    maxInFlight: integer(state.maxInFlight, 'maxInFlight', 'Max in flight', problems),
    rateLimitPerSecond: rate ?? (mode === 'edit' ? null : undefined),
    orderingMode: state.orderingMode,
    headers,
  });
  if (mode === 'create') input.signingAlgorithm = state.signingAlgorithm;
  // Empty removes them on edit; on create, empty is simply none.
  for (const key of ['filter', 'transformation'] as const) {
    if (state[key].trim()) input[key] = state[key];
    else if (mode === 'edit') input[key] = null;
  }

  if (state.tlsMode === 'set') {
    const tls = dropUndefined({
      clientCertificatePem: state.tls.clientCertificatePem.trim() || undefined,
      clientKeyPem: state.tls.clientKeyPem.trim() || undefined,
      caCertificatePem: state.tls.caCertificatePem.trim() || undefined,
    });
    if (Object.keys(tls).length === 0) problems.tls = 'Paste a client certificate and key, a CA certificate, or both — or turn mTLS off.';
    input.tls = tls;
  } else if (state.tlsMode === 'none' && mode === 'edit') {
    input.tls = null;
  }
  return { input, problems };
}

/**
 * Waits before each retry under a policy, ignoring jitter (±20%): attempt n+1 waits
 * min(initial × multiplier^(n-1), max). Null when the policy fields are not numbers yet.
 */
export function retryDelays(policy: EndpointFormState['retryPolicy']): number[] | null {
  const attempts = Number(policy.maxAttempts);
  const initial = Number(policy.initialBackoffSeconds);
  const multiplier = Number(policy.multiplier);
  const max = Number(policy.maxBackoffSeconds);
  if (![attempts, initial, multiplier, max].every((n) => Number.isFinite(n) && n > 0) || attempts > 50) return null;
  const delays: number[] = [];
  for (let n = 1; n < attempts; n++) delays.push(Math.min(initial * multiplier ** (n - 1), max));
  return delays;
}
