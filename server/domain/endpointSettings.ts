/**
 * Endpoint settings (SPEC §3): validation and normalisation of CreateEndpointInput and
 * UpdateEndpointInput. Every problem is collected with its field path (`retryPolicy.maxAttempts`,
 * `headers[2].name`, `tls.clientKeyPem`) so a form can mark each field at once.
 *
 * The URL, custom headers and mTLS material have modules of their own (endpointUrl, endpointHeaders,
 * endpointTls). Pure: the caller passes `nowMs` for the certificate-expiry check.
 */
import { validateBreakerSettings, type BreakerSettings } from './circuitBreaker.js';
import { checkHeaders, HEADER_LIMITS, type EndpointHeader } from './endpointHeaders.js';
import { checkTls, PEM_MAX_LENGTH, type EndpointTlsInput, type EndpointTlsSettings } from './endpointTls.js';
import { checkUrl, URL_MAX_LENGTH, type UrlRules } from './endpointUrl.js';
import type { InputProblem } from './errors.js';
import { DEFAULT_RETRY_POLICY, validateRetryPolicy, type RetryPolicy } from './retrySchedule.js';
import type { SigningAlgorithm } from './signing.js';

export type OrderingMode = 'BEST_EFFORT' | 'STRICT';

/** Validated, normalised settings of an endpoint. */
export interface EndpointSettings {
  url: string;
  description: string;
  labels: string[];
  timeoutMs: number;
  retryPolicy: RetryPolicy;
  circuitBreaker: BreakerSettings;
  maxInFlight: number;
  rateLimitPerSecond: number | null;
  orderingMode: OrderingMode;
  headers: EndpointHeader[];
  tls: EndpointTlsSettings | null;
  signingAlgorithm: SigningAlgorithm;
}

/** The changes an update asks for; absent keys stay as they are, `tls: null` removes mTLS. */
export type EndpointSettingsPatch = Partial<Omit<EndpointSettings, 'signingAlgorithm'>>;

type Nullable<T> = { [K in keyof T]?: T[K] | null };

/** Settings as they arrive from the API: any field may be absent or null. */
export interface EndpointSettingsInput {
  url?: string | null;
  description?: string | null;
  labels?: readonly string[] | null;
  timeoutMs?: number | null;
  retryPolicy?: Nullable<RetryPolicy> | null;
  circuitBreaker?: Nullable<BreakerSettings> | null;
  maxInFlight?: number | null;
  rateLimitPerSecond?: number | null;
  orderingMode?: string | null;
  headers?: readonly { name: string; value: string }[] | null;
  tls?: EndpointTlsInput | null;
}

export interface CreateEndpointSettingsInput extends EndpointSettingsInput {
  url: string;
  signingAlgorithm?: string | null;
}

export const ENDPOINT_LIMITS = {
  urlLength: URL_MAX_LENGTH,
  descriptionLength: 1000,
  labels: 20,
  labelLength: 64,
  timeoutMs: { min: 1_000, max: 30_000 },
  maxInFlight: { min: 1, max: 1_000 },
  rateLimitPerSecond: { min: 1, max: 100_000 },
  ...HEADER_LIMITS,
  pemLength: PEM_MAX_LENGTH,
} as const;

export const DEFAULT_ENDPOINT_SETTINGS: Readonly<Omit<EndpointSettings, 'url'>> = Object.freeze({
  description: '',
  labels: [],
  timeoutMs: 15_000,
  retryPolicy: { ...DEFAULT_RETRY_POLICY },
  circuitBreaker: { enabled: true, failureThreshold: 10, cooldownSeconds: 60 },
  maxInFlight: 16,
  rateLimitPerSecond: null,
  orderingMode: 'BEST_EFFORT',
  headers: [],
  tls: null,
  signingAlgorithm: 'HMAC_SHA256',
});

export type SettingsResult<T> = { ok: true; value: T } | { ok: false; problems: InputProblem[] };

const ORDERING_MODES: readonly OrderingMode[] = ['BEST_EFFORT', 'STRICT'];
const SIGNING_ALGORITHMS: readonly SigningAlgorithm[] = ['HMAC_SHA256', 'ED25519'];
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS_RE = /[\u0000-\u001f\u007f]/;

/** Validates a CreateEndpointInput; absent or null settings take their defaults. */
export function validateCreateEndpoint(
  input: CreateEndpointSettingsInput,
  rules: UrlRules,
  nowMs: number,
): SettingsResult<EndpointSettings> {
  const problems: InputProblem[] = [];
  const d = DEFAULT_ENDPOINT_SETTINGS;
  const url = checkUrl(input.url, rules, problems);
  const settings: EndpointSettings = {
    url: url ?? '',
    description: checkDescription(input.description, problems),
    labels: checkLabels(input.labels, problems),
    timeoutMs: checkRange('timeoutMs', input.timeoutMs ?? d.timeoutMs, ENDPOINT_LIMITS.timeoutMs, problems),
    retryPolicy: checkRetryPolicy(input.retryPolicy, d.retryPolicy, problems),
    circuitBreaker: checkBreaker(input.circuitBreaker, d.circuitBreaker, problems),
    maxInFlight: checkRange('maxInFlight', input.maxInFlight ?? d.maxInFlight, ENDPOINT_LIMITS.maxInFlight, problems),
    rateLimitPerSecond: checkRateLimit(input.rateLimitPerSecond, problems),
    orderingMode: checkOrderingMode(input.orderingMode, problems),
    headers: checkHeaders(input.headers, problems),
    tls: input.tls == null ? null : checkTls(input.tls, nowMs, problems),
    signingAlgorithm: checkSigningAlgorithm(input.signingAlgorithm, problems),
  };
  return problems.length > 0 ? { ok: false, problems } : { ok: true, value: settings };
}

/**
 * Validates an UpdateEndpointInput against the endpoint's current retry and breaker settings
 * (partial objects merge into them). Only keys present in `input` appear in the patch; null
 * resets a setting to its default (`rateLimitPerSecond: null` removes the limit, `tls: null`
 * removes mTLS).
 */
export function validateEndpointUpdate(
  input: EndpointSettingsInput,
  current: { retryPolicy: RetryPolicy; circuitBreaker: BreakerSettings },
  rules: UrlRules,
  nowMs: number,
): SettingsResult<EndpointSettingsPatch> {
  const problems: InputProblem[] = [];
  const d = DEFAULT_ENDPOINT_SETTINGS;
  const patch: EndpointSettingsPatch = {};
  const has = (key: keyof EndpointSettingsInput) => Object.prototype.hasOwnProperty.call(input, key) && input[key] !== undefined;

  if (has('url')) {
    if (input.url === null) {
      problems.push({ field: 'url', message: 'url cannot be null: omit it to keep the current URL.' });
    } else {
      const url = checkUrl(input.url, rules, problems);
      if (url !== null) patch.url = url;
    }
  }
  if (has('description')) patch.description = checkDescription(input.description, problems);
  if (has('labels')) patch.labels = checkLabels(input.labels, problems);
  if (has('timeoutMs')) patch.timeoutMs = checkRange('timeoutMs', input.timeoutMs ?? d.timeoutMs, ENDPOINT_LIMITS.timeoutMs, problems);
  if (has('retryPolicy')) {
    patch.retryPolicy = input.retryPolicy === null ? { ...d.retryPolicy } : checkRetryPolicy(input.retryPolicy, current.retryPolicy, problems);
  }
  if (has('circuitBreaker')) {
    patch.circuitBreaker =
      input.circuitBreaker === null ? { ...d.circuitBreaker } : checkBreaker(input.circuitBreaker, current.circuitBreaker, problems);
  }
  if (has('maxInFlight')) {
    patch.maxInFlight = checkRange('maxInFlight', input.maxInFlight ?? d.maxInFlight, ENDPOINT_LIMITS.maxInFlight, problems);
  }
  if (has('rateLimitPerSecond')) patch.rateLimitPerSecond = checkRateLimit(input.rateLimitPerSecond, problems);
  if (has('orderingMode')) patch.orderingMode = checkOrderingMode(input.orderingMode, problems);
  if (has('headers')) patch.headers = checkHeaders(input.headers, problems);
  if (has('tls')) patch.tls = input.tls === null ? null : checkTls(input.tls!, nowMs, problems);

  return problems.length > 0 ? { ok: false, problems } : { ok: true, value: patch };
}

function show(value: unknown): string {
  return typeof value === 'number' ? String(value) : (JSON.stringify(value) ?? String(value));
}

function checkDescription(raw: string | null | undefined, problems: InputProblem[]): string {
  const text = (raw ?? '').trim();
  if (text.length > ENDPOINT_LIMITS.descriptionLength) {
    problems.push({
      field: 'description',
      message: `description is ${text.length} characters long; the limit is ${ENDPOINT_LIMITS.descriptionLength}.`,
    });
  }
  return text;
}

function checkLabels(raw: readonly string[] | null | undefined, problems: InputProblem[]): string[] {
  const labels = raw ?? [];
  if (labels.length > ENDPOINT_LIMITS.labels) {
    problems.push({ field: 'labels', message: `An endpoint has at most ${ENDPOINT_LIMITS.labels} labels (got ${labels.length}).` });
    return [];
  }
  const out: string[] = [];
  const seen = new Map<string, number>();
  labels.forEach((rawLabel, i) => {
    const field = `labels[${i}]`;
    const label = typeof rawLabel === 'string' ? rawLabel.trim() : '';
    if (label.length < 1 || label.length > ENDPOINT_LIMITS.labelLength) {
      problems.push({ field, message: `${field} must be 1 to ${ENDPOINT_LIMITS.labelLength} characters (e.g. "team:security").` });
      return;
    }
    if (CONTROL_CHARS_RE.test(label)) {
      problems.push({ field, message: `${field} must not contain control characters.` });
      return;
    }
    const first = seen.get(label);
    if (first !== undefined) {
      problems.push({ field, message: `${field} "${label}" repeats labels[${first}]; give each label once.` });
      return;
    }
    seen.set(label, i);
    out.push(label);
  });
  return out;
}

function checkRange(field: string, value: unknown, range: { min: number; max: number }, problems: InputProblem[]): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < range.min || value > range.max) {
    problems.push({ field, message: `${field} must be a whole number between ${range.min} and ${range.max} (got ${show(value)}).` });
  }
  return value as number;
}

function checkRateLimit(raw: number | null | undefined, problems: InputProblem[]): number | null {
  if (raw == null) return null;
  const range = ENDPOINT_LIMITS.rateLimitPerSecond;
  if (!Number.isInteger(raw) || raw < range.min || raw > range.max) {
    problems.push({
      field: 'rateLimitPerSecond',
      message: `rateLimitPerSecond must be a whole number between ${range.min} and ${range.max}, or null for no limit (got ${show(raw)}).`,
    });
  }
  return raw;
}

/** Attributes each "<name> must ..." message of a shared validator to `<prefix>.<name>`. */
function prefixed(prefix: string, messages: string[], problems: InputProblem[]): void {
  for (const message of messages) {
    const name = message.split(' ', 1)[0] ?? '';
    problems.push({ field: `${prefix}.${name}`, message: `${prefix}.${message}.` });
  }
}

function merge<T extends object>(base: T, partial: Nullable<T>): T {
  const out = { ...base };
  for (const key of Object.keys(partial) as (keyof T)[]) {
    const value = partial[key];
    if (value !== undefined && value !== null) out[key] = value as T[keyof T];
  }
  return out;
}

function checkRetryPolicy(raw: Nullable<RetryPolicy> | null | undefined, base: RetryPolicy, problems: InputProblem[]): RetryPolicy {
  const policy = merge(base, raw ?? {});
  prefixed('retryPolicy', validateRetryPolicy(policy), problems);
  return policy;
}

function checkBreaker(raw: Nullable<BreakerSettings> | null | undefined, base: BreakerSettings, problems: InputProblem[]): BreakerSettings {
  const settings = merge(base, raw ?? {});
  prefixed('circuitBreaker', validateBreakerSettings(settings), problems);
  return settings;
}

function checkOrderingMode(raw: string | null | undefined, problems: InputProblem[]): OrderingMode {
  const mode = raw ?? DEFAULT_ENDPOINT_SETTINGS.orderingMode;
  if (!ORDERING_MODES.includes(mode as OrderingMode)) {
    problems.push({ field: 'orderingMode', message: `orderingMode must be BEST_EFFORT or STRICT (got ${show(mode)}).` });
  }
  return mode as OrderingMode;
}

function checkSigningAlgorithm(raw: string | null | undefined, problems: InputProblem[]): SigningAlgorithm {
  const algorithm = raw ?? DEFAULT_ENDPOINT_SETTINGS.signingAlgorithm;
  if (!SIGNING_ALGORITHMS.includes(algorithm as SigningAlgorithm)) {
    problems.push({ field: 'signingAlgorithm', message: `signingAlgorithm must be HMAC_SHA256 or ED25519 (got ${show(algorithm)}).` });
  }
  return algorithm as SigningAlgorithm;
}



