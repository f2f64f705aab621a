/**
 * Endpoint settings (SPEC §3): validation and normalisation of CreateEndpointInput and
 * UpdateEndpointInput. Every problem is collected with its field path (`retryPolicy.maxAttempts`,
 * `headers[2].name`, `tls.clientKeyPem`) so a form can mark each field at once.
 *
 * Pure: node:crypto is only used to parse PEMs (deterministic, no I/O) and the caller passes
 * `nowMs` for the certificate-expiry check.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { createAddressPolicy, describeBlockReason, parseCidrList, type AddressPolicy } from './addressGuard.js';
import { validateBreakerSettings, type BreakerSettings } from './circuitBreaker.js';
import type { InputProblem } from './errors.js';
import { DEFAULT_RETRY_POLICY, validateRetryPolicy, type RetryPolicy } from './retrySchedule.js';
import type { SigningAlgorithm } from './signing.js';

export type OrderingMode = 'BEST_EFFORT' | 'STRICT';

export interface EndpointHeader {
  name: string;
  value: string;
}

/** mTLS material; the client certificate and key always come together. */
export interface EndpointTlsSettings {
  clientCertificatePem: string | null;
  clientKeyPem: string | null;
  caCertificatePem: string | null;
}

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
  tls?: Nullable<EndpointTlsSettings> | null;
}

export interface CreateEndpointSettingsInput extends EndpointSettingsInput {
  url: string;
  signingAlgorithm?: string | null;
}

export const ENDPOINT_LIMITS = {
  urlLength: 2048,
  descriptionLength: 1000,
  labels: 20,
  labelLength: 64,
  timeoutMs: { min: 1_000, max: 30_000 },
  maxInFlight: { min: 1, max: 1_000 },
  rateLimitPerSecond: { min: 1, max: 100_000 },
  headers: 20,
  headerNameLength: 256,
  headerValueLength: 8_192,
  pemLength: 64 * 1024,
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

/**
 * Headers the sender sets itself: letting an endpoint override them would break framing
 * (content-length, transfer-encoding), routing (host) or the signature (webhook-*). Then the
 * hop-by-hop and protocol-switching ones the HTTP client refuses to send (undici throws for
 * expect, upgrade, keep-alive, transfer-encoding and connection): accepted, they made every
 * delivery of the endpoint fail as CONNECTION.
 */
export const RESERVED_HEADER_NAMES: readonly string[] = [
  'host',
  'content-length',
  'content-type',
  'transfer-encoding',
  'connection',
  'user-agent',
  'expect',
  'upgrade',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
];
/**
 * What a header value may hold on the wire (undici's own check, RFC 9110 field-value): tab,
 * visible ASCII, space and the Latin-1 range; no control characters, nothing above U+00FF.
 */
const HEADER_VALUE_FORBIDDEN = /[^\t\x20-\x7e\x80-\xff]/;
const RESERVED_HEADER_PREFIX = 'webhook-';

/** What URL checks depend on: the server's WEBHOOKS_ALLOW_HTTP and WEBHOOKS_ALLOWED_CIDRS. */
export interface UrlRules {
  allowHttp: boolean;
  addressPolicy: AddressPolicy;
}

/** Builds the URL rules from configuration; fails with the CIDR parser's message on a bad allowlist. */
export function createUrlRules(options: { allowHttp: boolean; allowedCidrs: string }): { ok: true; rules: UrlRules } | { ok: false; error: string } {
  const parsed = parseCidrList(options.allowedCidrs);
  if (!parsed.ok) return { ok: false, error: `WEBHOOKS_ALLOWED_CIDRS ${parsed.error}` };
  return { ok: true, rules: { allowHttp: options.allowHttp, addressPolicy: createAddressPolicy(parsed.cidrs) } };
}

export type SettingsResult<T> = { ok: true; value: T } | { ok: false; problems: InputProblem[] };

const ORDERING_MODES: readonly OrderingMode[] = ['BEST_EFFORT', 'STRICT'];
const SIGNING_ALGORITHMS: readonly SigningAlgorithm[] = ['HMAC_SHA256', 'ED25519'];
// RFC 7230 §3.2.6 token.
const HEADER_NAME_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
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

function checkUrl(raw: unknown, rules: UrlRules, problems: InputProblem[]): string | null {
  const fail = (message: string): null => {
    problems.push({ field: 'url', message });
    return null;
  };
  if (typeof raw !== 'string' || raw.trim() === '') {
    return fail('url is required: give the absolute https:// URL that should receive the webhooks.');
  }
  const text = raw.trim();
  if (text.length > ENDPOINT_LIMITS.urlLength) {
    return fail(`url is ${text.length} characters long; the limit is ${ENDPOINT_LIMITS.urlLength}.`);
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail(`url ${JSON.stringify(text)} is not a valid absolute URL; use the form https://hooks.example.com/path.`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return fail(`url must use https:// (got ${url.protocol}//).`);
  }
  if (url.protocol === 'http:' && !rules.allowHttp) {
    return fail('url must use https://; plain http:// is accepted only when the server runs with WEBHOOKS_ALLOW_HTTP=true.');
  }
  if (url.username !== '' || url.password !== '') {
    return fail(
      'url must not contain a username or password: send credentials in a custom header (e.g. "Authorization") instead, where they are hidden from viewers.',
    );
  }
  if (text.includes('#')) {
    return fail('url must not contain a fragment ("#..."): fragments are never sent to the server; remove it.');
  }
  if (url.hostname === '') return fail('url must name a host, e.g. https://hooks.example.com/path.');
  if (url.href.length > ENDPOINT_LIMITS.urlLength) {
    return fail(`url is ${url.href.length} characters long once normalised; the limit is ${ENDPOINT_LIMITS.urlLength}.`);
  }
  // Hostnames are checked on the resolved address at connect time; an IP literal can be judged
  // now, which spares the user a delivery that could never succeed.
  const ip = ipLiteral(url.hostname);
  if (ip !== null) {
    const decision = rules.addressPolicy(ip);
    if (!decision.allowed) {
      return fail(
        `url points to ${ip}, ${describeBlockReason(decision.reason ?? 'reserved')}, which webhooks may not reach. ` +
          'Use a public address, or ask the operator to add its network to WEBHOOKS_ALLOWED_CIDRS.',
      );
    }
  }
  return url.href;
}

/** The IP of an IP-literal hostname as WHATWG URL normalises it (`[::1]`, `127.0.0.1`), else null. */
function ipLiteral(hostname: string): string | null {
  if (hostname.startsWith('[') && hostname.endsWith(']')) return hostname.slice(1, -1);
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(hostname)) return hostname;
  return null;
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

function checkHeaders(raw: readonly { name: string; value: string }[] | null | undefined, problems: InputProblem[]): EndpointHeader[] {
  const headers = raw ?? [];
  if (headers.length > ENDPOINT_LIMITS.headers) {
    problems.push({ field: 'headers', message: `An endpoint has at most ${ENDPOINT_LIMITS.headers} custom headers (got ${headers.length}).` });
    return [];
  }
  const out: EndpointHeader[] = [];
  const seen = new Map<string, number>();
  headers.forEach((header, i) => {
    const at = `headers[${i}]`;
    const name = typeof header?.name === 'string' ? header.name.trim() : '';
    const value = typeof header?.value === 'string' ? header.value : '';
    let ok = true;
    const lower = name.toLowerCase();
    if (name.length === 0 || name.length > ENDPOINT_LIMITS.headerNameLength || !HEADER_NAME_RE.test(name)) {
      problems.push({
        field: `${at}.name`,
        message: `${at}.name ${JSON.stringify(name)} is not a valid header name: use letters, digits and !#$%&'*+-.^_\`|~ only (e.g. "X-Api-Token"), at most ${ENDPOINT_LIMITS.headerNameLength} characters.`,
      });
      ok = false;
    } else if (RESERVED_HEADER_NAMES.includes(lower) || lower.startsWith(RESERVED_HEADER_PREFIX)) {
      problems.push({
        field: `${at}.name`,
        message: `${at}.name "${name}" is set by the webhook sender itself and cannot be overridden (reserved: ${RESERVED_HEADER_NAMES.join(', ')} and every "webhook-*" header).`,
      });
      ok = false;
    } else if (seen.has(lower)) {
      problems.push({
        field: `${at}.name`,
        message: `${at}.name "${name}" repeats headers[${seen.get(lower)}] (header names are case-insensitive); give each header once.`,
      });
      ok = false;
    }
    const forbidden = HEADER_VALUE_FORBIDDEN.exec(value);
    if (forbidden) {
      // The value may be a secret: name the header and the character, never the value.
      const code = forbidden[0].codePointAt(0)!;
      const what = code > 0xff ? `the character U+${code.toString(16).toUpperCase().padStart(4, '0')}, beyond Latin-1 (percent- or base64-encode it)` : `the control character U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
      problems.push({ field: `${at}.value`, message: `${at}.value (header "${name.slice(0, 64)}") contains ${what}, which HTTP headers cannot carry.` });
      ok = false;
    } else if (value.length > ENDPOINT_LIMITS.headerValueLength) {
      problems.push({ field: `${at}.value`, message: `${at}.value is longer than ${ENDPOINT_LIMITS.headerValueLength} characters.` });
      ok = false;
    }
    if (name) seen.set(lower, seen.get(lower) ?? i);
    if (ok) out.push({ name, value });
  });
  return out;
}

function checkTls(raw: Nullable<EndpointTlsSettings>, nowMs: number, problems: InputProblem[]): EndpointTlsSettings {
  const clientCertificatePem = blankToNull(raw.clientCertificatePem);
  const clientKeyPem = blankToNull(raw.clientKeyPem);
  const caCertificatePem = blankToNull(raw.caCertificatePem);
  const tls = { clientCertificatePem, clientKeyPem, caCertificatePem };

  if (!clientCertificatePem && !clientKeyPem && !caCertificatePem) {
    problems.push({
      field: 'tls',
      message: 'tls is empty: give clientCertificatePem with clientKeyPem and/or caCertificatePem, or set tls to null to remove mTLS.',
    });
    return tls;
  }
  if (clientCertificatePem && !clientKeyPem) {
    problems.push({ field: 'tls.clientKeyPem', message: 'tls.clientKeyPem is required with tls.clientCertificatePem: the client certificate is useless without its private key.' });
  }
  if (clientKeyPem && !clientCertificatePem) {
    problems.push({ field: 'tls.clientCertificatePem', message: 'tls.clientCertificatePem is required with tls.clientKeyPem: give the certificate that belongs to the key.' });
  }

  let certificate: X509Certificate | null = null;
  if (clientCertificatePem) {
    const certs = parseCertificates('tls.clientCertificatePem', clientCertificatePem, problems);
    certificate = certs?.[0] ?? null;
    if (certificate && Date.parse(certificate.validTo) <= nowMs) {
      problems.push({
        field: 'tls.clientCertificatePem',
        message: `tls.clientCertificatePem expired on ${new Date(Date.parse(certificate.validTo)).toISOString()}; the endpoint would refuse it. Give a current certificate.`,
      });
    }
  }
  let key: KeyObject | null = null;
  if (clientKeyPem) key = parsePrivateKey(clientKeyPem, problems);
  if (certificate && key && !safeCheckPrivateKey(certificate, key)) {
    problems.push({
      field: 'tls.clientKeyPem',
      message: 'tls.clientKeyPem does not belong to tls.clientCertificatePem: give the private key the certificate was issued for.',
    });
  }
  if (caCertificatePem) parseCertificates('tls.caCertificatePem', caCertificatePem, problems);
  return tls;
}

function blankToNull(value: string | null | undefined): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() + '\n' : null;
}

const PEM_CERT_RE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function parseCertificates(field: string, pem: string, problems: InputProblem[]): X509Certificate[] | null {
  if (pem.length > ENDPOINT_LIMITS.pemLength) {
    problems.push({ field, message: `${field} is larger than ${ENDPOINT_LIMITS.pemLength / 1024} KiB.` });
    return null;
  }
  const blocks = pem.match(PEM_CERT_RE) ?? [];
  if (blocks.length === 0) {
    problems.push({
      field,
      message: `${field} is not a PEM certificate: paste the whole text from "-----BEGIN CERTIFICATE-----" to "-----END CERTIFICATE-----".`,
    });
    return null;
  }
  const certs: X509Certificate[] = [];
  for (const [i, block] of blocks.entries()) {
    try {
      certs.push(new X509Certificate(block));
    } catch {
      const which = blocks.length > 1 ? ` (certificate ${i + 1} of ${blocks.length})` : '';
      problems.push({ field, message: `${field} could not be parsed as an X.509 certificate${which}; check that it was copied whole.` });
      return null;
    }
  }
  return certs;
}

function parsePrivateKey(pem: string, problems: InputProblem[]): KeyObject | null {
  const field = 'tls.clientKeyPem';
  if (pem.length > ENDPOINT_LIMITS.pemLength) {
    problems.push({ field, message: `${field} is larger than ${ENDPOINT_LIMITS.pemLength / 1024} KiB.` });
    return null;
  }
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(pem)) {
    problems.push({ field, message: `${field} is encrypted with a passphrase; give the unencrypted PEM key (it is stored encrypted at rest).` });
    return null;
  }
  if (!/-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/.test(pem)) {
    problems.push({
      field,
      message: `${field} is not a PEM private key: paste the whole text from "-----BEGIN PRIVATE KEY-----" to "-----END PRIVATE KEY-----".`,
    });
    return null;
  }
  try {
    return createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    // The parser's own message is not shown: it could quote parts of the key.
    problems.push({ field, message: `${field} could not be parsed as a private key; check that it was copied whole.` });
    return null;
  }
}

function safeCheckPrivateKey(certificate: X509Certificate, key: KeyObject): boolean {
  try {
    return certificate.checkPrivateKey(key);
  } catch {
    return false;
  }
}

/** What the API shows about a stored certificate (never the key). */
export interface CertificateInfo {
  subject: string;
  issuer: string;
  validFrom: Date;
  validTo: Date;
  fingerprintSha256: string;
}

/** Describes each certificate of a PEM bundle; unparseable blocks are skipped. */
export function describeCertificates(pem: string): CertificateInfo[] {
  const out: CertificateInfo[] = [];
  for (const block of pem.match(PEM_CERT_RE) ?? []) {
    try {
      const cert = new X509Certificate(block);
      out.push({
        subject: cert.subject.split('\n').filter(Boolean).join(', '),
        issuer: cert.issuer.split('\n').filter(Boolean).join(', '),
        validFrom: new Date(Date.parse(cert.validFrom)),
        validTo: new Date(Date.parse(cert.validTo)),
        fingerprintSha256: cert.fingerprint256,
      });
    } catch {
      // Stored PEMs were validated on the way in; a block that no longer parses is just not shown.
    }
  }
  return out;
}
