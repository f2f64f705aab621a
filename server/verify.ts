/**
 * Receiver helper, published as `<package>/verify`: checks a Standard Webhooks request
 * (headers `webhook-id`, `webhook-timestamp`, `webhook-signature`) against an endpoint secret
 * (`whsec_...`, HMAC `v1`) and/or the org's public key (`whpk_...` or JWK, Ed25519 `v1a`), then
 * returns the parsed envelope.
 *
 * It is compiled with the server into dist/ (tsconfig.build.json) but shipped alone (package.json
 * `files`: dist/verify.* and dist/domain/signing.*), so it imports nothing but ./domain/signing.js
 * and node builtins.
 */
import { decodeHmacSecret, decodePublicKey, jwkToPublicKey, verifySignatureHeader } from './domain/signing.js';

export type WebhookVerificationErrorCode = 'MISSING_HEADERS' | 'STALE_TIMESTAMP' | 'BAD_SIGNATURE';

/** Thrown when a request must be rejected; `code` says why (answer 400/401 and do not process it). */
export class WebhookVerificationError extends Error {
  readonly code: WebhookVerificationErrorCode;

  constructor(code: WebhookVerificationErrorCode, message: string) {
    super(message);
    this.name = 'WebhookVerificationError';
    this.code = code;
  }
}

/** The JSON body every delivery carries; `id` is stable across retries, deduplicate on it. */
export interface WebhookEnvelope {
  id: string;
  type: string;
  timestamp: string;
  data: Record<string, unknown>;
}

/** An Ed25519 public JWK as served by `/orgs/{orgId}/jwks.json`; other members are ignored. */
export interface Ed25519JsonWebKey {
  kty?: string;
  crv?: string;
  x?: string;
  kid?: string;
}

export type WebhookPublicKey = string | Ed25519JsonWebKey;

/** Plain header objects (Node's `req.headers`, any case) or a fetch `Headers`. */
export type WebhookHeaders = Record<string, string | string[] | undefined> | Headers;

export interface VerifyWebhookOptions {
  /** The endpoint secret `whsec_...`; several during a rotation. */
  secret?: string | readonly string[];
  /** The org's Ed25519 public key, `whpk_...` or JWK; several during a rotation. */
  publicKey?: WebhookPublicKey | readonly WebhookPublicKey[];
  /** Largest accepted clock difference, in either direction (default 300). */
  toleranceSeconds?: number;
  /** The current time (default: the system clock). */
  now?: Date;
}

const DEFAULT_TOLERANCE_SECONDS = 300;

function toList<T>(value: T | readonly T[] | undefined): readonly T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? (value as readonly T[]) : [value as T];
}

function readHeader(headers: WebhookHeaders, name: string, joiner: string | null): string | undefined {
  if (typeof (headers as Headers).get === 'function') {
    return (headers as Headers).get(name) ?? undefined;
  }
  const record = headers as Record<string, string | string[] | undefined>;
  let value: string | string[] | undefined = record[name];
  if (value === undefined) {
    for (const key of Object.keys(record)) {
      if (key.toLowerCase() === name) {
        value = record[key];
        break;
      }
    }
  }
  if (!Array.isArray(value)) return value;
  if (joiner !== null) return value.join(joiner);
  // A repeated id or timestamp is only usable when every copy agrees.
  return value.every((v) => v === value[0]) ? value[0] : undefined;
}

function parseEnvelope(rawBody: string | Uint8Array): WebhookEnvelope {
  const text =
    typeof rawBody === 'string'
      ? rawBody
      : Buffer.from(rawBody.buffer, rawBody.byteOffset, rawBody.byteLength).toString('utf8');
  const parsed: unknown = JSON.parse(text);
  // Only the JSON-object shape is enforced: the fields are the sender's contract, and
  // refusing other objects would reject the Standard Webhooks reference payloads.
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new TypeError('The signed body is not a JSON object');
  }
  return parsed as WebhookEnvelope;
}

/**
 * Verifies a webhook request on its raw body and returns the parsed envelope. Throws
 * WebhookVerificationError (MISSING_HEADERS, STALE_TIMESTAMP, BAD_SIGNATURE) for a request to
 * reject, TypeError for a usage mistake (no key given, body already parsed), and
 * SyntaxError/TypeError when an authentic body is not a JSON object.
 */
export function verifyWebhook(
  rawBody: string | Buffer | Uint8Array,
  headers: WebhookHeaders,
  options: VerifyWebhookOptions,
): WebhookEnvelope {
  if (typeof rawBody !== 'string' && !(rawBody instanceof Uint8Array)) {
    throw new TypeError('verifyWebhook needs the raw request body as a string or Buffer, not parsed JSON');
  }
  if (typeof headers !== 'object' || headers === null) throw new TypeError('verifyWebhook needs the request headers');
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('verifyWebhook needs options with a secret ("whsec_...") or publicKey ("whpk_..." or a JWK)');
  }
  const hmacSecrets = toList(options.secret).map(decodeHmacSecret);
  const publicKeys = toList(options.publicKey).map((key) =>
    typeof key === 'string' ? decodePublicKey(key) : jwkToPublicKey(key),
  );
  if (hmacSecrets.length === 0 && publicKeys.length === 0) {
    throw new TypeError('verifyWebhook needs options.secret ("whsec_...") or options.publicKey ("whpk_..." or a JWK)');
  }
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (typeof tolerance !== 'number' || !Number.isFinite(tolerance) || tolerance < 0) {
    throw new TypeError('options.toleranceSeconds must be a non-negative number');
  }
  const nowMs = (options.now ?? new Date()).getTime();
  if (!Number.isFinite(nowMs)) throw new TypeError('options.now must be a valid Date');

  const id = readHeader(headers, 'webhook-id', null);
  const timestamp = readHeader(headers, 'webhook-timestamp', null);
  const signatureHeader = readHeader(headers, 'webhook-signature', ' ');
  const missing = [
    ['webhook-id', id],
    ['webhook-timestamp', timestamp],
    ['webhook-signature', signatureHeader],
  ].filter(([, value]) => !value).map(([name]) => name);
  if (missing.length > 0) {
    throw new WebhookVerificationError('MISSING_HEADERS', `Missing header(s): ${missing.join(', ')}`);
  }
  const timestampSeconds = /^\d{1,15}$/.test(timestamp!) ? Number(timestamp) : NaN;
  if (!Number.isSafeInteger(timestampSeconds)) {
    throw new WebhookVerificationError('MISSING_HEADERS', 'webhook-timestamp is not a whole number of Unix seconds');
  }

  const nowSeconds = Math.floor(nowMs / 1000);
  if (nowSeconds - timestampSeconds > tolerance) {
    throw new WebhookVerificationError(
      'STALE_TIMESTAMP',
      `webhook-timestamp is ${nowSeconds - timestampSeconds} s old (tolerance ${tolerance} s); possible replay`,
    );
  }
  if (timestampSeconds - nowSeconds > tolerance) {
    throw new WebhookVerificationError(
      'STALE_TIMESTAMP',
      `webhook-timestamp is ${timestampSeconds - nowSeconds} s in the future (tolerance ${tolerance} s); check the clocks`,
    );
  }

  const valid = verifySignatureHeader({
    id: id!,
    timestampSeconds,
    body: rawBody,
    signatureHeader: signatureHeader!,
    hmacSecrets,
    ed25519PublicKeys: publicKeys,
  });
  if (!valid) {
    throw new WebhookVerificationError(
      'BAD_SIGNATURE',
      'No signature in webhook-signature matches the given key(s); verify the raw, unmodified body',
    );
  }
  return parseEnvelope(rawBody);
}
