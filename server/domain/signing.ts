/**
 * Standard Webhooks signing (https://www.standardwebhooks.com), byte-compatible with the
 * reference libraries: the signed content is `${id}.${timestampSeconds}.${rawBody}`,
 * HMAC-SHA256 entries are `v1,<base64>` and Ed25519 entries `v1a,<base64>`, several entries
 * separated by spaces (key rotation sends old and new side by side).
 *
 * Pure: keys and randomness come in as bytes. node:crypto is deterministic here, and this file
 * imports nothing else because `server/verify.ts` (shipped to users) compiles it into dist/.
 */
import {
  createHmac,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  sign as cryptoSign,
  timingSafeEqual,
  verify as cryptoVerify,
  type KeyObject,
} from 'node:crypto';

export const HMAC_SECRET_PREFIX = 'whsec_';
export const PUBLIC_KEY_PREFIX = 'whpk_';

const ED25519_KEY_BYTES = 32;
const ED25519_SIGNATURE_BYTES = 64;
// ASN.1 wrappers that turn raw Ed25519 bytes into the PKCS#8 / SPKI DER node:crypto imports.
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export type SigningAlgorithm = 'HMAC_SHA256' | 'ED25519';

/** A key the signer uses: the endpoint's HMAC secret bytes or the org's Ed25519 seed. */
export type SignerKey =
  | { algorithm: 'HMAC_SHA256'; secret: Uint8Array }
  | { algorithm: 'ED25519'; seed: Uint8Array };

/** Produces the `webhook-signature` header value for one request. */
export type Signer = (id: string, timestampSeconds: number, body: string) => string;

/** The public JWK of an org's Ed25519 key, as published in its JWKS. */
export interface Ed25519PublicJwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  kid: string;
  use: 'sig';
  alg: 'EdDSA';
}

/** Strict base64: Buffer.from silently drops bad characters, so insist on a clean round trip. */
function decodeStrictBase64(text: string): Buffer | null {
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : null;
}

function decodeStrictBase64Url(text: string): Buffer | null {
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? bytes : null;
}

function requireLength(bytes: Uint8Array, length: number, what: string): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    throw new Error(`${what} must be ${length} bytes`);
  }
}

/** Formats 32 random bytes as a shown-once endpoint secret `whsec_<base64>`. */
export function generateHmacSecret(randomBytes32: Uint8Array): string {
  requireLength(randomBytes32, 32, 'HMAC secret randomness');
  return HMAC_SECRET_PREFIX + Buffer.from(randomBytes32).toString('base64');
}

/** Decodes a `whsec_...` secret (prefix optional) to its key bytes; throws on malformed input. */
export function decodeHmacSecret(secret: string): Buffer {
  if (typeof secret !== 'string') throw new TypeError('HMAC secret must be a string');
  const body = secret.startsWith(HMAC_SECRET_PREFIX) ? secret.slice(HMAC_SECRET_PREFIX.length) : secret;
  if (body.length === 0) throw new Error('HMAC secret is empty');
  const bytes = decodeStrictBase64(body);
  // The message never echoes the secret: error text ends up in logs.
  if (!bytes) throw new Error('HMAC secret is not valid base64 (expected "whsec_" followed by padded base64)');
  return bytes;
}

function ed25519PrivateKey(seed: Uint8Array): KeyObject {
  requireLength(seed, ED25519_KEY_BYTES, 'Ed25519 seed');
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

function ed25519PublicKeyObject(raw: Uint8Array): KeyObject {
  requireLength(raw, ED25519_KEY_BYTES, 'Ed25519 public key');
  return createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: 'der', type: 'spki' });
}

/** Derives the raw 32-byte Ed25519 public key from a 32-byte seed (the private key). */
export function ed25519PublicKeyFromSeed(seed: Uint8Array): Buffer {
  const spki = createPublicKey(ed25519PrivateKey(seed)).export({ format: 'der', type: 'spki' });
  return spki.subarray(SPKI_ED25519_PREFIX.length);
}

/** Formats a raw Ed25519 public key as `whpk_<base64>`. */
export function encodePublicKey(raw: Uint8Array): string {
  requireLength(raw, ED25519_KEY_BYTES, 'Ed25519 public key');
  return PUBLIC_KEY_PREFIX + Buffer.from(raw).toString('base64');
}

/** Decodes a `whpk_...` public key (prefix optional) to its 32 raw bytes; throws on malformed input. */
export function decodePublicKey(text: string): Buffer {
  if (typeof text !== 'string') throw new TypeError('Ed25519 public key must be a string');
  const body = text.startsWith(PUBLIC_KEY_PREFIX) ? text.slice(PUBLIC_KEY_PREFIX.length) : text;
  const bytes = decodeStrictBase64(body);
  if (!bytes || bytes.length !== ED25519_KEY_BYTES) {
    throw new Error('Ed25519 public key must be "whpk_" followed by the base64 of 32 bytes');
  }
  return bytes;
}

/** The JWK (RFC 8037 OKP) form of a raw Ed25519 public key, for the org's JWKS. */
export function publicKeyToJwk(raw: Uint8Array, kid: string): Ed25519PublicJwk {
  requireLength(raw, ED25519_KEY_BYTES, 'Ed25519 public key');
  return { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url'), kid, use: 'sig', alg: 'EdDSA' };
}

/** Extracts the raw 32-byte public key from an Ed25519 JWK; throws unless kty/crv/x fit. */
export function jwkToPublicKey(jwk: { kty?: unknown; crv?: unknown; x?: unknown }): Buffer {
  if (typeof jwk !== 'object' || jwk === null) throw new TypeError('JWK must be an object');
  if (jwk.kty !== 'OKP') throw new Error(`JWK kty must be "OKP" for Ed25519 (got ${JSON.stringify(jwk.kty)})`);
  if (jwk.crv !== 'Ed25519') throw new Error(`JWK crv must be "Ed25519" (got ${JSON.stringify(jwk.crv)})`);
  const bytes = typeof jwk.x === 'string' ? decodeStrictBase64Url(jwk.x) : null;
  if (!bytes || bytes.length !== ED25519_KEY_BYTES) {
    throw new Error('JWK x must be the unpadded base64url of a 32-byte Ed25519 public key');
  }
  return bytes;
}

/** The exact bytes both sides sign: `${id}.${timestampSeconds}.${rawBody}`. */
export function signedContent(id: string, timestampSeconds: number, body: string | Uint8Array): Buffer {
  if (typeof body === 'string') return Buffer.from(`${id}.${timestampSeconds}.${body}`, 'utf8');
  // Raw bytes are kept as they are: decoding them as text would alter invalid UTF-8.
  return Buffer.concat([Buffer.from(`${id}.${timestampSeconds}.`, 'utf8'), body]);
}

type CompiledKey = { version: 'v1'; key: KeyObject } | { version: 'v1a'; key: KeyObject };

/** Precompiles keys into a fast signer returning the `webhook-signature` header (one entry per key, in order). */
export function createSigner(keys: readonly SignerKey[]): Signer {
  if (keys.length === 0) throw new Error('createSigner needs at least one key');
  // KeyObjects are built once here: the dispatcher signs thousands of requests per second.
  const compiled: CompiledKey[] = keys.map((k) => {
    if (k.algorithm === 'HMAC_SHA256') {
      if (!(k.secret instanceof Uint8Array) || k.secret.length === 0) throw new Error('HMAC secret is empty');
      return { version: 'v1', key: createSecretKey(k.secret) };
    }
    if (k.algorithm === 'ED25519') return { version: 'v1a', key: ed25519PrivateKey(k.seed) };
    throw new Error(`Unknown signing algorithm ${JSON.stringify((k as { algorithm: unknown }).algorithm)}`);
  });
  const signOne = (entry: CompiledKey, content: Buffer): string =>
    entry.version === 'v1'
      ? `v1,${createHmac('sha256', entry.key).update(content).digest('base64')}`
      : `v1a,${cryptoSign(null, content, entry.key).toString('base64')}`;

  return (id, timestampSeconds, body) => {
    if (!Number.isSafeInteger(timestampSeconds)) throw new Error('timestampSeconds must be an integer');
    const content = signedContent(id, timestampSeconds, body);
    if (compiled.length === 1) return signOne(compiled[0]!, content);
    let header = '';
    for (const entry of compiled) header += (header ? ' ' : '') + signOne(entry, content);
    return header;
  };
}

/** Inputs of {@link verifySignatureHeader}; the body is the raw request body. */
export interface VerifySignatureParams {
  id: string;
  timestampSeconds: number;
  body: string | Uint8Array;
  signatureHeader: string;
  hmacSecrets?: readonly Uint8Array[];
  ed25519PublicKeys?: readonly Uint8Array[];
}

/** True when any `v1`/`v1a` entry of the header matches one of the keys; unknown versions are ignored. */
export function verifySignatureHeader(params: VerifySignatureParams): boolean {
  const { id, timestampSeconds, body, signatureHeader } = params;
  const hmacSecrets = params.hmacSecrets ?? [];
  const publicKeys = params.ed25519PublicKeys ?? [];
  if (typeof signatureHeader !== 'string' || !Number.isSafeInteger(timestampSeconds)) return false;
  const content = signedContent(id, timestampSeconds, body);

  // Expected HMACs are compared as base64 text, like the reference library, so a
  // non-canonical encoding of the right bytes is refused there and here alike.
  let expectedHmacs: Buffer[] | null = null;
  let verifyKeys: KeyObject[] | null = null;

  for (const entry of signatureHeader.split(' ')) {
    const comma = entry.indexOf(',');
    if (comma < 0) continue;
    const version = entry.slice(0, comma);
    const signature = entry.slice(comma + 1);
    if (version === 'v1' && hmacSecrets.length > 0) {
      expectedHmacs ??= hmacSecrets.map((secret) =>
        Buffer.from(createHmac('sha256', secret).update(content).digest('base64'), 'utf8'),
      );
      const given = Buffer.from(signature, 'utf8');
      for (const expected of expectedHmacs) {
        if (given.length === expected.length && timingSafeEqual(given, expected)) return true;
      }
    } else if (version === 'v1a' && publicKeys.length > 0) {
      const sig = decodeStrictBase64(signature);
      if (!sig || sig.length !== ED25519_SIGNATURE_BYTES) continue;
      verifyKeys ??= publicKeys.map(ed25519PublicKeyObject);
      for (const key of verifyKeys) {
        if (cryptoVerify(null, content, key, sig)) return true;
      }
    }
  }
  return false;
}
