/**
 * How each endpoint setting appears in a configuration document: one entry per setting, in this
 * one table. An entry reads the document value into the endpoint input's form (secret references
 * resolved against the endpoint as it is), gives the current value in that form, compares the
 * two (naming the parts that differ) and writes the exported value. A new endpoint setting is
 * one more entry here (and, if it holds a secret, its value in services/endpointState.ts).
 */
import { DEFAULT_ENDPOINT_SETTINGS, type EndpointSettings } from '../endpointSettings.js';
import type { EndpointHeader } from '../endpointHeaders.js';
import { describeCertificates, type EndpointTlsSettings } from '../endpointTls.js';
import type { SigningAlgorithm } from '../signing.js';
import { readSecretValue, resolveSecret, UNCHANGED } from './secretValues.js';
import {
  INVALID,
  isPlainObject,
  pathOf,
  readBoolean,
  readNumber,
  readObject,
  readOneOf,
  readString,
  readStringList,
  sameJson,
  type Invalid,
  type ReadContext,
} from './shapes.js';

/** An endpoint as it is: its settings with secrets in clear (never leaves the server), and patterns. */
export interface CurrentEndpoint {
  id: string;
  uid: string | null;
  settings: EndpointSettings;
  patterns: string[];
}

/** How a change of the setting is carried out. */
export type WrittenBy = 'endpointInput' | 'signingKeyRotation';

export interface EndpointField {
  /** The setting's name in the document, in changedFields and in the endpoint inputs. */
  name: string;
  writtenBy: WrittenBy;
  /** The value when the document leaves the setting out (the endpoint's default). */
  absent(): unknown;
  /** The document value in input form; INVALID after recording a problem in ctx. */
  read(raw: unknown, ctx: ReadContext, current: CurrentEndpoint | null): unknown;
  /** The current value in input form. */
  current(endpoint: CurrentEndpoint): unknown;
  /** The names of what differs between two input-form values (empty when equal). */
  diff(desired: unknown, current: unknown): string[];
  /** The value `exportConfiguration` writes: never a secret in clear. */
  exported(endpoint: CurrentEndpoint): unknown;
  /**
   * An input-form value, or the part named by a changed-part name, as a plan shows it to a
   * person; undefined when it is secret (never shown).
   */
  show(value: unknown, part: string): unknown;
}

const whole = (name: string) => (a: unknown, b: unknown) => (sameJson(a, b) ? [] : [name]);

/** A setting held in one plain value (number, string, list). */
function plain(name: keyof EndpointSettings, read: (raw: unknown, ctx: ReadContext) => unknown): EndpointField {
  return {
    name,
    writtenBy: 'endpointInput',
    absent: () => structuredClone(DEFAULT_ENDPOINT_SETTINGS[name as Exclude<keyof EndpointSettings, 'url'>]),
    read: (raw, ctx) => read(raw, ctx),
    current: (e) => e.settings[name],
    diff: whole(name),
    exported: (e) => e.settings[name],
    show: (value) => value,
  };
}

/** A setting made of named numeric/boolean parts; parts left out of the document take their default. */
function group(name: 'retryPolicy' | 'circuitBreaker', parts: Record<string, 'number' | 'boolean'>): EndpointField {
  const defaults = () => ({ ...(DEFAULT_ENDPOINT_SETTINGS[name] as unknown as Record<string, unknown>) });
  return {
    name,
    writtenBy: 'endpointInput',
    absent: defaults,
    read(raw, ctx) {
      const object = readObject(raw, Object.keys(parts), ctx);
      if (object === INVALID) return INVALID;
      const value = defaults();
      let ok = true;
      for (const [part, type] of Object.entries(parts)) {
        if (object[part] === undefined) continue;
        const partCtx = { ...ctx, at: pathOf(ctx.at, part) };
        const read = type === 'number' ? readNumber(object[part], partCtx) : readBoolean(object[part], partCtx);
        if (read === INVALID) ok = false;
        else value[part] = read;
      }
      return ok ? value : INVALID;
    },
    current: (e) => ({ ...(e.settings[name] as unknown as Record<string, unknown>) }),
    diff: (a, b) => Object.keys(parts).filter((part) => !sameJson((a as Record<string, unknown>)[part], (b as Record<string, unknown>)[part])).map((p) => `${name}.${p}`),
    exported: (e) => ({ ...(e.settings[name] as unknown as Record<string, unknown>) }),
    show: (value, part) => (part === name ? value : (value as Record<string, unknown>)[part.slice(name.length + 1)]),
  };
}

/** The URL: a string, or `{base, query}` when its query string (which may carry a token) is kept secret. */
const url: EndpointField = {
  name: 'url',
  writtenBy: 'endpointInput',
  absent: () => undefined,
  read(raw, ctx, current) {
    if (typeof raw === 'string') return raw;
    const object = readObject(raw, ['base', 'query'], ctx);
    if (object === INVALID) return INVALID;
    const base = readString(object.base, { ...ctx, at: pathOf(ctx.at, 'base') }, 'the URL without its query string');
    const query = object.query === undefined ? '' : readSecretValue(object.query, pathOf(ctx.at, 'query'), ctx.problems);
    if (base === INVALID || query === undefined) return INVALID;
    if (base.includes('?')) {
      ctx.problems.push({ field: pathOf(ctx.at, 'base'), message: `${pathOf(ctx.at, 'base')} must not contain "?": put the query string in ${pathOf(ctx.at, 'query')}.` });
      return INVALID;
    }
    const resolved = resolveSecret(query, current ? queryOf(current.settings.url) : null, pathOf(ctx.at, 'query'), ctx.problems);
    if (resolved === undefined) return INVALID;
    return resolved === '' ? base : `${base}?${resolved.replace(/^\?/, '')}`;
  },
  current: (e) => e.settings.url,
  diff: whole('url'),
  exported(e) {
    const query = queryOf(e.settings.url);
    return query === null ? e.settings.url : { base: e.settings.url.slice(0, e.settings.url.indexOf('?')), query: UNCHANGED };
  },
  // The query string may carry a token: shown masked.
  show: (value) => (typeof value === 'string' && queryOf(value) !== null ? `${value.slice(0, value.indexOf('?'))}?••••` : value),
};

/** The query string of a URL without its "?", or null when it has none. */
function queryOf(href: string): string | null {
  const at = href.indexOf('?');
  return at < 0 || at === href.length - 1 ? null : href.slice(at + 1);
}

/** Custom headers as a map of name to value; every value is secret (viewers never see them). */
const headers: EndpointField = {
  name: 'headers',
  writtenBy: 'endpointInput',
  absent: () => [],
  read(raw, ctx, current) {
    if (!isPlainObject(raw)) {
      ctx.problems.push({ field: ctx.at, message: `${ctx.at} must be an object of header names to values, e.g. {"Authorization": "\${TOKEN}"}.` });
      return INVALID;
    }
    const list: EndpointHeader[] = [];
    let ok = true;
    for (const [name, rawValue] of Object.entries(raw)) {
      const at = pathOf(ctx.at, name);
      const secret = readSecretValue(rawValue, at, ctx.problems);
      const now = current?.settings.headers.find((h) => h.name.toLowerCase() === name.toLowerCase())?.value;
      const value = secret === undefined ? undefined : resolveSecret(secret, now, at, ctx.problems);
      if (value === undefined) ok = false;
      else list.push({ name, value });
    }
    return ok ? list : INVALID;
  },
  current: (e) => e.settings.headers.map((h) => ({ ...h })),
  diff(a, b) {
    const desired = new Map((a as EndpointHeader[]).map((h) => [h.name, h.value]));
    const now = new Map((b as EndpointHeader[]).map((h) => [h.name, h.value]));
    const names = [...new Set([...desired.keys(), ...now.keys()])].sort();
    return names.filter((n) => desired.get(n) !== now.get(n)).map((n) => pathOf('headers', n));
  },
  exported: (e) => Object.fromEntries(e.settings.headers.map((h) => [h.name, UNCHANGED])),
  // Every header value is secret; what changed is named by changedFields.
  show: () => undefined,
};

const TLS_PARTS = ['clientCertificatePem', 'clientKeyPem', 'caCertificatePem'] as const;

/** mTLS: certificates are public and exported as they are; the client key is secret. */
const tls: EndpointField = {
  name: 'tls',
  writtenBy: 'endpointInput',
  absent: () => null,
  read(raw, ctx, current) {
    if (raw === null) return null;
    const object = readObject(raw, TLS_PARTS, ctx);
    if (object === INVALID) return INVALID;
    const value: EndpointTlsSettings = { clientCertificatePem: null, clientKeyPem: null, caCertificatePem: null };
    let ok = true;
    for (const part of ['clientCertificatePem', 'caCertificatePem'] as const) {
      if (object[part] === undefined || object[part] === null) continue;
      const read = readString(object[part], { ...ctx, at: pathOf(ctx.at, part) }, 'a PEM string');
      if (read === INVALID) ok = false;
      else value[part] = read;
    }
    if (object.clientKeyPem !== undefined && object.clientKeyPem !== null) {
      const at = pathOf(ctx.at, 'clientKeyPem');
      const secret = readSecretValue(object.clientKeyPem, at, ctx.problems);
      const key = secret === undefined ? undefined : resolveSecret(secret, current?.settings.tls?.clientKeyPem, at, ctx.problems);
      if (key === undefined) ok = false;
      else value.clientKeyPem = key;
    }
    return ok ? value : INVALID;
  },
  current: (e) => (e.settings.tls ? { ...e.settings.tls } : null),
  diff(a, b) {
    if (a === null || b === null) return a === b ? [] : ['tls'];
    return TLS_PARTS.filter((p) => (a as EndpointTlsSettings)[p] !== (b as EndpointTlsSettings)[p]).map((p) => `tls.${p}`);
  },
  exported(e) {
    const t = e.settings.tls;
    if (!t) return null;
    return {
      ...(t.clientCertificatePem ? { clientCertificatePem: t.clientCertificatePem } : {}),
      ...(t.clientKeyPem ? { clientKeyPem: UNCHANGED } : {}),
      ...(t.caCertificatePem ? { caCertificatePem: t.caCertificatePem } : {}),
    };
  },
  show(value, part) {
    const t = value as EndpointTlsSettings | null;
    if (part === 'tls.clientKeyPem') return undefined;
    if (part !== 'tls') return certificateSummary(t?.[part.slice(4) as 'clientCertificatePem' | 'caCertificatePem'] ?? null);
    if (t === null) return null;
    return { clientCertificatePem: certificateSummary(t.clientCertificatePem), clientKeyPem: t.clientKeyPem ? '(secret)' : null, caCertificatePem: certificateSummary(t.caCertificatePem) };
  },
};

/** A PEM certificate bundle as a plan shows it: who it is for and until when. */
function certificateSummary(pem: string | null): string | null {
  if (pem === null) return null;
  const certs = describeCertificates(pem);
  if (certs.length === 0) return '(certificate)';
  return certs.map((c) => `${c.subject} (valid to ${c.validTo.toISOString().slice(0, 10)}, sha256 ${c.fingerprintSha256.slice(0, 11)}…)`).join('; ');
}

const SIGNING_ALGORITHMS: readonly SigningAlgorithm[] = ['HMAC_SHA256', 'ED25519'];

/** EventSubscription patterns: a set (order and repeats do not count). */
const patterns: EndpointField = {
  name: 'patterns',
  writtenBy: 'endpointInput',
  absent: () => [],
  read: (raw, ctx) => readStringList(raw, ctx),
  current: (e) => [...e.patterns].sort(),
  diff: (a, b) => (sameJson([...new Set(a as string[])].sort(), [...new Set(b as string[])].sort()) ? [] : ['patterns']),
  exported: (e) => [...e.patterns].sort(),
  show: (value) => [...new Set(value as string[])].sort(),
};

/** Every endpoint setting a document holds, in the order an export writes them. */
export const ENDPOINT_FIELDS: readonly EndpointField[] = [
  url,
  plain('description', (raw, ctx) => (raw === null ? '' : readString(raw, ctx))),
  plain('labels', (raw, ctx) => (raw === null ? [] : readStringList(raw, ctx))),
  plain('timeoutMs', readNumber),
  group('retryPolicy', { initialBackoffSeconds: 'number', multiplier: 'number', maxBackoffSeconds: 'number', maxAttempts: 'number' }),
  group('circuitBreaker', { enabled: 'boolean', failureThreshold: 'number', cooldownSeconds: 'number' }),
  plain('maxInFlight', readNumber),
  plain('rateLimitPerSecond', (raw, ctx) => (raw === null ? null : readNumber(raw, ctx))),
  plain('orderingMode', (raw, ctx) => readOneOf(raw, ['BEST_EFFORT', 'STRICT'], ctx)),
  headers,
  tls,
  // Changing it rotates the signing key (24 h grace period), as rotateSigningKey does.
  { ...plain('signingAlgorithm', (raw, ctx) => readOneOf(raw, SIGNING_ALGORITHMS, ctx)), writtenBy: 'signingKeyRotation' },
  patterns,
];

export const ENDPOINT_FIELD_NAMES: readonly string[] = ENDPOINT_FIELDS.map((f) => f.name);

/** The field a changed-part name (`retryPolicy.maxAttempts`, `headers.X-Team`) belongs to. */
export function endpointFieldOf(changed: string): EndpointField | undefined {
  return ENDPOINT_FIELDS.find((f) => changed === f.name || changed.startsWith(`${f.name}.`) || changed.startsWith(`${f.name}[`));
}

export type { Invalid };
