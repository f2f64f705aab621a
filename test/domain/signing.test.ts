import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  createSigner,
  decodeHmacSecret,
  decodePublicKey,
  ed25519PublicKeyFromSeed,
  encodePublicKey,
  generateHmacSecret,
  jwkToPublicKey,
  publicKeyToJwk,
  signedContent,
  verifySignatureHeader,
  type SignerKey,
} from '../../server/domain/signing.js';

// Reference vectors, copied from the Standard Webhooks reference libraries' own tests
// (github.com/standard-webhooks/standard-webhooks):
// - HMAC: libraries/javascript/src/webhook.test.ts, "sign function works" (also the
//   "multi sig payload is valid" decoys and the "invalid/partial signature" cases);
// - Ed25519: libraries/go/webhook_asymmetric_test.go, TestAsymmetricWebhookSign (the key there
//   is the 32-byte seed, expanded with ed25519.NewKeyFromSeed).
const REF = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  v1: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
  ed25519Seed: 'VEVTVFNJR05JTkdLRVlET05PVFVTRVRISVNGT1JBTlk=',
  v1a: 'v1a,tQ9V2XOqn7jL/DQenEFpqIugdBVtiMmER5mhSkXBNwM0mkATuDe6KYYUuxqtaiHeYGb7KaaBRdM5WqyeFiL8Ag==',
  decoy: 'v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=',
};

// RFC 8032 §7.1 TEST 1 secret key and public key; RFC 8037 §A.2 gives the same key's JWK `x`.
const RFC8032 = {
  seed: Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex'),
  publicKey: Buffer.from('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', 'hex'),
  jwkX: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo',
};

const refSeed = Buffer.from(REF.ed25519Seed, 'base64');
const bytes = (fill: number, length = 32) => new Uint8Array(length).fill(fill);

describe('reference vectors', () => {
  it('signs the HMAC vector exactly', () => {
    const sign = createSigner([{ algorithm: 'HMAC_SHA256', secret: decodeHmacSecret(REF.secret) }]);
    expect(sign(REF.id, REF.timestamp, REF.body)).toBe(REF.v1);
  });

  it('signs the Ed25519 vector exactly', () => {
    expect(refSeed.toString('latin1')).toBe('TESTSIGNINGKEYDONOTUSETHISFORANY');
    const sign = createSigner([{ algorithm: 'ED25519', seed: refSeed }]);
    expect(sign(REF.id, REF.timestamp, REF.body)).toBe(REF.v1a);
  });

  it('verifies both vectors', () => {
    const base = { id: REF.id, timestampSeconds: REF.timestamp, body: REF.body };
    expect(verifySignatureHeader({ ...base, signatureHeader: REF.v1, hmacSecrets: [decodeHmacSecret(REF.secret)] })).toBe(true);
    expect(
      verifySignatureHeader({ ...base, signatureHeader: REF.v1a, ed25519PublicKeys: [ed25519PublicKeyFromSeed(refSeed)] }),
    ).toBe(true);
  });

  it('accepts the valid entry among the reference decoys', () => {
    const header = [REF.decoy, REF.decoy.replace('v1,', 'v2,'), REF.v1, REF.decoy].join(' ');
    const params = { id: REF.id, timestampSeconds: REF.timestamp, body: REF.body, hmacSecrets: [decodeHmacSecret(REF.secret)] };
    expect(verifySignatureHeader({ ...params, signatureHeader: header })).toBe(true);
    expect(verifySignatureHeader({ ...params, signatureHeader: [REF.decoy, REF.decoy].join(' ') })).toBe(false);
  });

  it('rejects the reference invalid and partial signatures', () => {
    const params = { id: REF.id, timestampSeconds: REF.timestamp, body: REF.body, hmacSecrets: [decodeHmacSecret(REF.secret)] };
    for (const bad of ['v1,dawfeoifkpqwoekfpqoekf', REF.v1.slice(0, 8), 'v1,', '', ' ', 'v1', REF.v1.slice(3)]) {
      expect(verifySignatureHeader({ ...params, signatureHeader: bad }), bad).toBe(false);
    }
  });

  it('derives the RFC 8032 public key from its seed', () => {
    expect(ed25519PublicKeyFromSeed(RFC8032.seed).equals(RFC8032.publicKey)).toBe(true);
  });
});

describe('HMAC secrets', () => {
  it('formats 32 random bytes as whsec_ + padded base64 and decodes them back', () => {
    const random = Uint8Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 0xff);
    const secret = generateHmacSecret(random);
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(decodeHmacSecret(secret).equals(Buffer.from(random))).toBe(true);
  });

  it('refuses randomness that is not 32 bytes', () => {
    expect(() => generateHmacSecret(bytes(1, 31))).toThrow(/32 bytes/);
    expect(() => generateHmacSecret(bytes(1, 33))).toThrow(/32 bytes/);
  });

  it('decodes with or without the whsec_ prefix', () => {
    const withPrefix = decodeHmacSecret(REF.secret);
    expect(withPrefix.length).toBe(24);
    expect(decodeHmacSecret(REF.secret.slice('whsec_'.length)).equals(withPrefix)).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['prefix only', 'whsec_'],
    ['bad characters', 'whsec_abc$def!'],
    ['url-safe alphabet', 'whsec_ab-_cdef'],
    ['missing padding', 'whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['inner whitespace', 'whsec_MfKQ9r8GKYqr TwjUPD8ILPZIo2LaLaSw'],
  ])('rejects %s with a clear error that does not echo the secret', (_label, input) => {
    let error: unknown;
    try {
      decodeHmacSecret(input);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message).toMatch(/HMAC secret/);
    const body = input.replace(/^whsec_/, '');
    if (body.length > 3) expect(message).not.toContain(body);
  });

  it('rejects a non-string secret', () => {
    expect(() => decodeHmacSecret(42 as unknown as string)).toThrow(TypeError);
  });
});

describe('Ed25519 public keys', () => {
  it('encodes as whpk_ + base64 of 32 bytes and decodes with or without the prefix', () => {
    const text = encodePublicKey(RFC8032.publicKey);
    expect(text).toBe(`whpk_${RFC8032.publicKey.toString('base64')}`);
    expect(decodePublicKey(text).equals(RFC8032.publicKey)).toBe(true);
    expect(decodePublicKey(text.slice(5)).equals(RFC8032.publicKey)).toBe(true);
  });

  it('rejects malformed or wrongly sized public keys', () => {
    expect(() => decodePublicKey('whpk_' + Buffer.alloc(31).toString('base64'))).toThrow(/32 bytes/);
    expect(() => decodePublicKey('whpk_' + Buffer.alloc(33).toString('base64'))).toThrow(/32 bytes/);
    expect(() => decodePublicKey('whpk_not base64!')).toThrow(/whpk_/);
    expect(() => decodePublicKey('')).toThrow();
    expect(() => encodePublicKey(bytes(1, 31))).toThrow(/32 bytes/);
  });

  it('builds the RFC 8037 JWK for the RFC 8032 key', () => {
    expect(publicKeyToJwk(RFC8032.publicKey, 'sk_1')).toEqual({
      kty: 'OKP',
      crv: 'Ed25519',
      x: RFC8032.jwkX,
      kid: 'sk_1',
      use: 'sig',
      alg: 'EdDSA',
    });
  });

  it('round-trips through JWK', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (seed) => {
        const raw = ed25519PublicKeyFromSeed(seed);
        expect(jwkToPublicKey(publicKeyToJwk(raw, 'k')).equals(raw)).toBe(true);
        expect(decodePublicKey(encodePublicKey(raw)).equals(raw)).toBe(true);
      }),
      { numRuns: 50 },
    );
  });

  it.each([
    ['an EC key', { kty: 'EC', crv: 'Ed25519', x: RFC8032.jwkX }, /kty/],
    ['an X25519 key', { kty: 'OKP', crv: 'X25519', x: RFC8032.jwkX }, /crv/],
    ['a missing x', { kty: 'OKP', crv: 'Ed25519' }, /x must be/],
    ['a padded x', { kty: 'OKP', crv: 'Ed25519', x: RFC8032.jwkX + '=' }, /x must be/],
    ['standard base64 x', { kty: 'OKP', crv: 'Ed25519', x: RFC8032.publicKey.toString('base64') }, /x must be/],
    ['a short x', { kty: 'OKP', crv: 'Ed25519', x: RFC8032.jwkX.slice(0, 40) }, /x must be/],
  ])('rejects a JWK with %s', (_label, jwk, message) => {
    expect(() => jwkToPublicKey(jwk)).toThrow(message);
  });

  it('refuses a seed that is not 32 bytes', () => {
    expect(() => ed25519PublicKeyFromSeed(bytes(1, 31))).toThrow(/32 bytes/);
    expect(() => createSigner([{ algorithm: 'ED25519', seed: bytes(1, 64) }])).toThrow(/32 bytes/);
  });
});

describe('signed content', () => {
  it('is id.timestamp.body, identical for a string and its UTF-8 bytes', () => {
    const body = '{"name":"Zoë ✓"}';
    expect(signedContent('evt_1', 1700000000, body).toString('utf8')).toBe(`evt_1.1700000000.${body}`);
    expect(signedContent('evt_1', 1700000000, Buffer.from(body)).equals(signedContent('evt_1', 1700000000, body))).toBe(true);
  });

  it('keeps raw bytes that are not valid UTF-8 instead of re-encoding them', () => {
    const raw = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]);
    const content = signedContent('a', 1, raw);
    expect(content.subarray(-4).equals(raw)).toBe(true);
    const secret = bytes(7);
    const sig = createHmac('sha256', secret).update(content).digest('base64');
    const params = { id: 'a', timestampSeconds: 1, signatureHeader: `v1,${sig}`, hmacSecrets: [secret] };
    expect(verifySignatureHeader({ ...params, body: raw })).toBe(true);
    // The lossy text decoding turns both bytes into U+FFFD, which is a different message.
    expect(verifySignatureHeader({ ...params, body: raw.toString('utf8') })).toBe(false);
  });
});

const hmacKey = (fill: number): SignerKey => ({ algorithm: 'HMAC_SHA256', secret: bytes(fill) });
const edKey = (fill: number): SignerKey => ({ algorithm: 'ED25519', seed: bytes(fill) });

describe('createSigner and verifySignatureHeader', () => {
  const id = 'evt_01HZY';
  const ts = 1_700_000_000;
  const body = '{"id":"evt_01HZY","type":"webhook.test","timestamp":"2023-11-14T22:13:20.000Z","data":{}}';

  it('round-trips v1 and v1a for arbitrary ids, timestamps, bodies and keys', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }),
        fc.integer({ min: 0, max: 4_000_000_000 }),
        fc.string({ unit: 'grapheme' }),
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (mid, mts, mbody, secret, seed) => {
          const header = createSigner([
            { algorithm: 'HMAC_SHA256', secret },
            { algorithm: 'ED25519', seed },
          ])(mid, mts, mbody);
          const base = { id: mid, timestampSeconds: mts, body: mbody, signatureHeader: header };
          expect(verifySignatureHeader({ ...base, hmacSecrets: [secret] })).toBe(true);
          expect(verifySignatureHeader({ ...base, ed25519PublicKeys: [ed25519PublicKeyFromSeed(seed)] })).toBe(true);
          expect(verifySignatureHeader({ ...base, body: mbody + ' ', hmacSecrets: [secret] })).toBe(false);
          expect(verifySignatureHeader({ ...base, body: mbody + ' ', ed25519PublicKeys: [ed25519PublicKeyFromSeed(seed)] })).toBe(false);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('emits one entry per key, in the order given', () => {
    const header = createSigner([hmacKey(1), edKey(2), hmacKey(3)])(id, ts, body);
    const entries = header.split(' ');
    expect(entries.map((e) => e.split(',')[0])).toEqual(['v1', 'v1a', 'v1']);
    const base = { id, timestampSeconds: ts, body };
    expect(verifySignatureHeader({ ...base, signatureHeader: entries[0]!, hmacSecrets: [bytes(1)] })).toBe(true);
    expect(verifySignatureHeader({ ...base, signatureHeader: entries[1]!, ed25519PublicKeys: [ed25519PublicKeyFromSeed(bytes(2))] })).toBe(true);
    expect(verifySignatureHeader({ ...base, signatureHeader: entries[2]!, hmacSecrets: [bytes(3)] })).toBe(true);
    expect(verifySignatureHeader({ ...base, signatureHeader: entries[0]!, hmacSecrets: [bytes(3)] })).toBe(false);
  });

  it('is deterministic and independent of earlier calls (KeyObjects are reused, not consumed)', () => {
    const sign = createSigner([hmacKey(1), edKey(2)]);
    const first = sign(id, ts, body);
    sign('other', ts + 1, 'other');
    expect(sign(id, ts, body)).toBe(first);
    expect(createSigner([hmacKey(1), edKey(2)])(id, ts, body)).toBe(first);
  });

  it('supports rotation: a header with old and new signatures verifies under either key alone', () => {
    const header = createSigner([hmacKey(10), hmacKey(11)])(id, ts, body);
    const base = { id, timestampSeconds: ts, body, signatureHeader: header };
    expect(verifySignatureHeader({ ...base, hmacSecrets: [bytes(10)] })).toBe(true);
    expect(verifySignatureHeader({ ...base, hmacSecrets: [bytes(11)] })).toBe(true);
    expect(verifySignatureHeader({ ...base, hmacSecrets: [bytes(12)] })).toBe(false);
    // A receiver holding both keys during its own rotation accepts a header with only one.
    const onlyNew = createSigner([hmacKey(11)])(id, ts, body);
    expect(verifySignatureHeader({ ...base, signatureHeader: onlyNew, hmacSecrets: [bytes(10), bytes(11)] })).toBe(true);
    const edHeader = createSigner([edKey(20), edKey(21)])(id, ts, body);
    expect(verifySignatureHeader({ ...base, signatureHeader: edHeader, ed25519PublicKeys: [ed25519PublicKeyFromSeed(bytes(21))] })).toBe(true);
  });

  it.each([
    ['body', { body: body.replace('webhook.test', 'webhook.tesT') }],
    ['id', { id: 'evt_01HZZ' }],
    ['timestamp', { timestampSeconds: ts + 1 }],
  ])('fails when the %s is tampered with (v1 and v1a)', (_label, change) => {
    const header = createSigner([hmacKey(1), edKey(2)])(id, ts, body);
    const params = { id, timestampSeconds: ts, body, signatureHeader: header, ...change };
    expect(verifySignatureHeader({ ...params, hmacSecrets: [bytes(1)] })).toBe(false);
    expect(verifySignatureHeader({ ...params, ed25519PublicKeys: [ed25519PublicKeyFromSeed(bytes(2))] })).toBe(false);
  });

  it('ignores unknown versions and does not cross algorithms', () => {
    const v1 = createSigner([hmacKey(1)])(id, ts, body);
    const v1a = createSigner([edKey(2)])(id, ts, body);
    const base = { id, timestampSeconds: ts, body };
    expect(verifySignatureHeader({ ...base, signatureHeader: v1.replace('v1,', 'v2,'), hmacSecrets: [bytes(1)] })).toBe(false);
    expect(verifySignatureHeader({ ...base, signatureHeader: v1.replace('v1,', 'v1a,'), hmacSecrets: [bytes(1)] })).toBe(false);
    expect(verifySignatureHeader({ ...base, signatureHeader: v1a.replace('v1a,', 'v1,'), ed25519PublicKeys: [ed25519PublicKeyFromSeed(bytes(2))] })).toBe(false);
    expect(verifySignatureHeader({ ...base, signatureHeader: v1a, hmacSecrets: [bytes(1)] })).toBe(false);
    expect(verifySignatureHeader({ ...base, signatureHeader: `v2,abc ${v1a}`, ed25519PublicKeys: [ed25519PublicKeyFromSeed(bytes(2))] })).toBe(true);
    expect(verifySignatureHeader({ ...base, signatureHeader: v1 })).toBe(false);
  });

  it('compares v1 as text: a non-canonical base64 of the right bytes is refused, as the reference library does', () => {
    const v1 = createSigner([hmacKey(1)])(id, ts, body);
    const b64 = v1.slice(3);
    const last = b64[42]!; // 32 bytes → 43 significant chars; the low 2 bits of the last are padding
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const twin = alphabet[alphabet.indexOf(last) ^ 1]!;
    const altered = b64.slice(0, 42) + twin + '=';
    expect(Buffer.from(altered, 'base64').equals(Buffer.from(b64, 'base64'))).toBe(true);
    expect(verifySignatureHeader({ id, timestampSeconds: ts, body, signatureHeader: `v1,${altered}`, hmacSecrets: [bytes(1)] })).toBe(false);
  });

  it('refuses Ed25519 entries that are not a 64-byte signature', () => {
    const v1a = createSigner([edKey(2)])(id, ts, body);
    const params = { id, timestampSeconds: ts, body, ed25519PublicKeys: [ed25519PublicKeyFromSeed(bytes(2))] };
    expect(verifySignatureHeader({ ...params, signatureHeader: v1a.slice(0, -4) })).toBe(false);
    expect(verifySignatureHeader({ ...params, signatureHeader: 'v1a,' })).toBe(false);
    expect(verifySignatureHeader({ ...params, signatureHeader: 'v1a,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=' })).toBe(false);
  });

  it('rejects a non-integer timestamp instead of signing "1.5"', () => {
    const sign = createSigner([hmacKey(1)]);
    expect(() => sign(id, 1.5, body)).toThrow(/integer/);
    expect(verifySignatureHeader({ id, timestampSeconds: 1.5, body, signatureHeader: sign(id, 1, body), hmacSecrets: [bytes(1)] })).toBe(false);
  });

  it('refuses an empty key list, an empty HMAC secret and an unknown algorithm', () => {
    expect(() => createSigner([])).toThrow(/at least one key/);
    expect(() => createSigner([{ algorithm: 'HMAC_SHA256', secret: new Uint8Array(0) }])).toThrow(/empty/);
    expect(() => createSigner([{ algorithm: 'RSA' } as unknown as SignerKey])).toThrow(/Unknown signing algorithm/);
  });
});

describe('compatibility with the standardwebhooks npm library', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('the library verifies createSigner output (alone and alongside an Ed25519 entry) and signs identically', () => {
    const nowSeconds = 1_760_000_000;
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(nowSeconds * 1000);
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 24, maxLength: 64 }),
        fc.string({ minLength: 1 }).filter((s) => !s.includes(' ')),
        fc.dictionary(fc.string(), fc.jsonValue()),
        fc.integer({ min: -300, max: 300 }),
        (secret, mid, data, skew) => {
          const body = JSON.stringify({ id: mid, type: 'webhook.test', data });
          const ts = nowSeconds + skew;
          const header = createSigner([{ algorithm: 'HMAC_SHA256', secret }, edKey(3)])(mid, ts, body);
          const lib = new Webhook(generateLikeWhsec(secret));
          const headers = { 'webhook-id': mid, 'webhook-timestamp': String(ts), 'webhook-signature': header };
          expect(lib.verify(body, headers)).toEqual(JSON.parse(body));
          expect(lib.sign(mid, new Date(ts * 1000), body)).toBe(header.split(' ')[0]);
          const wrong = new Webhook(generateLikeWhsec(Uint8Array.from(secret, (b) => b ^ 1)));
          expect(() => wrong.verify(body, headers)).toThrow();
        },
      ),
      { numRuns: 100 },
    );
  });

  it('we verify what the library signs', () => {
    const secret = bytes(42);
    const lib = new Webhook(generateHmacSecret(secret));
    const header = lib.sign('msg_1', new Date(1_700_000_000_000), '{"a":1}');
    expect(verifySignatureHeader({ id: 'msg_1', timestampSeconds: 1_700_000_000, body: '{"a":1}', signatureHeader: header, hmacSecrets: [secret] })).toBe(true);
  });
});

/** The whsec_ form of arbitrary-length secret bytes (generateHmacSecret is fixed at 32). */
function generateLikeWhsec(secret: Uint8Array): string {
  return `whsec_${Buffer.from(secret).toString('base64')}`;
}
