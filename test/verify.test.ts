import fc from 'fast-check';
import { Webhook, WebhookVerificationError as LibVerificationError } from 'standardwebhooks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  createSigner,
  decodeHmacSecret,
  ed25519PublicKeyFromSeed,
  encodePublicKey,
  generateHmacSecret,
  publicKeyToJwk,
} from '../server/domain/signing.js';
import { verifyWebhook, WebhookVerificationError, type WebhookVerificationErrorCode } from '../server/verify.js';

// Reference vectors from the Standard Webhooks reference libraries' tests
// (github.com/standard-webhooks/standard-webhooks): HMAC from
// libraries/javascript/src/webhook.test.ts ("sign function works", multi-sig decoys), Ed25519
// from libraries/go/webhook_asymmetric_test.go (TestAsymmetricWebhookSign; the key is a seed).
const REF = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  v1: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
  seed: Buffer.from('VEVTVFNJR05JTkdLRVlET05PVFVTRVRISVNGT1JBTlk=', 'base64'),
  v1a: 'v1a,tQ9V2XOqn7jL/DQenEFpqIugdBVtiMmER5mhSkXBNwM0mkATuDe6KYYUuxqtaiHeYGb7KaaBRdM5WqyeFiL8Ag==',
  decoy: 'v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=',
};
const REF_NOW = new Date(REF.timestamp * 1000);
const refHeaders = (signature = REF.v1) => ({
  'webhook-id': REF.id,
  'webhook-timestamp': String(REF.timestamp),
  'webhook-signature': signature,
});

const SECRET = generateHmacSecret(new Uint8Array(32).fill(9));
const SEED = new Uint8Array(32).fill(4);
const PUBLIC = ed25519PublicKeyFromSeed(SEED);
const TS = 1_760_000_000;
const NOW = new Date(TS * 1000);
const ENVELOPE = { id: 'evt_01', type: 'pipeline.run.failed', timestamp: '2025-10-09T08:53:20.000Z', data: { runId: 'run_7', note: 'Zoë ✓' } };
const BODY = JSON.stringify(ENVELOPE);

function signed(opts: { body?: string; id?: string; ts?: number; keys?: Parameters<typeof createSigner>[0] } = {}) {
  const id = opts.id ?? ENVELOPE.id;
  const ts = opts.ts ?? TS;
  const body = opts.body ?? BODY;
  const keys = opts.keys ?? [{ algorithm: 'HMAC_SHA256', secret: decodeHmacSecret(SECRET) }];
  return {
    body,
    headers: { 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': createSigner(keys)(id, ts, body) },
  };
}

function codeOf(fn: () => unknown): WebhookVerificationErrorCode | 'OK' | 'OTHER' {
  try {
    fn();
    return 'OK';
  } catch (e) {
    if (e instanceof WebhookVerificationError) return e.code;
    return 'OTHER';
  }
}

describe('reference vectors', () => {
  it('accepts the HMAC vector and returns the parsed body', () => {
    expect(verifyWebhook(REF.body, refHeaders(), { secret: REF.secret, now: REF_NOW })).toEqual({ test: 2432232314 });
  });

  it('accepts the secret without its whsec_ prefix', () => {
    expect(codeOf(() => verifyWebhook(REF.body, refHeaders(), { secret: REF.secret.slice(6), now: REF_NOW }))).toBe('OK');
  });

  it('accepts the Ed25519 vector with the public key of its seed, as whpk_ and as JWK', () => {
    const pub = ed25519PublicKeyFromSeed(REF.seed);
    const headers = refHeaders(REF.v1a);
    expect(verifyWebhook(REF.body, headers, { publicKey: encodePublicKey(pub), now: REF_NOW })).toEqual({ test: 2432232314 });
    expect(verifyWebhook(REF.body, headers, { publicKey: publicKeyToJwk(pub, 'k1'), now: REF_NOW })).toEqual({ test: 2432232314 });
  });

  it('accepts the valid entry among the reference decoys', () => {
    const header = [REF.decoy, REF.decoy.replace('v1,', 'v2,'), REF.v1, REF.decoy].join(' ');
    expect(codeOf(() => verifyWebhook(REF.body, refHeaders(header), { secret: REF.secret, now: REF_NOW }))).toBe('OK');
  });

  it('accepts the Ed25519 vector among the Go library\'s multi-signature decoys and rejects its invalid and partial v1a entries', () => {
    const publicKey = encodePublicKey(ed25519PublicKeyFromSeed(REF.seed));
    const goDecoy = REF.decoy.slice(REF.decoy.indexOf(',') + 1);
    const header = [`v1,${goDecoy}`, `v2,${goDecoy}`, REF.v1a, `v1,${goDecoy}`].join(' ');
    expect(verifyWebhook(REF.body, refHeaders(header), { publicKey, now: REF_NOW })).toEqual({ test: 2432232314 });
    for (const sig of [`v1a,${goDecoy}`, 'v1a,', REF.v1a.slice(0, 20), REF.v1a.replace('v1a,', 'v1,')]) {
      expect(codeOf(() => verifyWebhook(REF.body, refHeaders(sig), { publicKey, now: REF_NOW })), sig).toBe('BAD_SIGNATURE');
    }
    // A v1a entry is only ever checked against public keys, never against an HMAC secret.
    expect(codeOf(() => verifyWebhook(REF.body, refHeaders(REF.v1a), { secret: REF.secret, now: REF_NOW }))).toBe('BAD_SIGNATURE');
  });

  it('rejects the reference invalid and partial signatures', () => {
    for (const sig of ['v1,dawfeoifkpqwoekfpqoekf', REF.v1.slice(0, 8), 'v1,']) {
      expect(codeOf(() => verifyWebhook(REF.body, refHeaders(sig), { secret: REF.secret, now: REF_NOW })), sig).toBe('BAD_SIGNATURE');
    }
  });
});

describe('verifyWebhook', () => {
  it('returns the envelope of a valid request', () => {
    const { body, headers } = signed();
    expect(verifyWebhook(body, headers, { secret: SECRET, now: NOW })).toEqual(ENVELOPE);
  });

  it('rejects a tampered body, id or timestamp with BAD_SIGNATURE', () => {
    const { body, headers } = signed();
    const opts = { secret: SECRET, now: NOW };
    expect(codeOf(() => verifyWebhook(body.replace('run_7', 'run_8'), headers, opts))).toBe('BAD_SIGNATURE');
    expect(codeOf(() => verifyWebhook(body + ' ', headers, opts))).toBe('BAD_SIGNATURE');
    expect(codeOf(() => verifyWebhook(body, { ...headers, 'webhook-id': 'evt_02' }, opts))).toBe('BAD_SIGNATURE');
    expect(codeOf(() => verifyWebhook(body, { ...headers, 'webhook-timestamp': String(TS + 1) }, opts))).toBe('BAD_SIGNATURE');
  });

  it('rejects the wrong key', () => {
    const { body, headers } = signed();
    const other = generateHmacSecret(new Uint8Array(32).fill(10));
    expect(codeOf(() => verifyWebhook(body, headers, { secret: other, now: NOW }))).toBe('BAD_SIGNATURE');
    const wrongPub = encodePublicKey(ed25519PublicKeyFromSeed(new Uint8Array(32).fill(5)));
    const ed = signed({ keys: [{ algorithm: 'ED25519', seed: SEED }] });
    expect(codeOf(() => verifyWebhook(ed.body, ed.headers, { publicKey: wrongPub, now: NOW }))).toBe('BAD_SIGNATURE');
    // An HMAC-only header is not accepted by a receiver that trusts only the public key.
    expect(codeOf(() => verifyWebhook(body, headers, { publicKey: encodePublicKey(PUBLIC), now: NOW }))).toBe('BAD_SIGNATURE');
  });

  it('rejects timestamps beyond the tolerance in either direction as STALE_TIMESTAMP, inclusive at the edge', () => {
    const { body, headers } = signed();
    const at = (offsetSeconds: number, toleranceSeconds?: number) =>
      codeOf(() => verifyWebhook(body, headers, { secret: SECRET, now: new Date((TS + offsetSeconds) * 1000), toleranceSeconds }));
    expect(at(300)).toBe('OK');
    expect(at(301)).toBe('STALE_TIMESTAMP');
    expect(at(-300)).toBe('OK');
    expect(at(-301)).toBe('STALE_TIMESTAMP');
    expect(at(3600)).toBe('STALE_TIMESTAMP');
    expect(at(3600, 7200)).toBe('OK');
    expect(at(1, 0)).toBe('STALE_TIMESTAMP');
    expect(at(0, 0)).toBe('OK');
    // Sub-second `now` is floored like the reference library.
    expect(codeOf(() => verifyWebhook(body, headers, { secret: SECRET, now: new Date((TS + 300) * 1000 + 999) }))).toBe('OK');
  });

  it('checks the timestamp before the signature, so a stale forgery reports STALE_TIMESTAMP', () => {
    const { body, headers } = signed({ ts: TS - 1000 });
    expect(codeOf(() => verifyWebhook(body, { ...headers, 'webhook-signature': 'v1,AAAA' }, { secret: SECRET, now: NOW }))).toBe('STALE_TIMESTAMP');
  });

  it.each(['webhook-id', 'webhook-timestamp', 'webhook-signature'])('rejects a missing or empty %s with MISSING_HEADERS', (name) => {
    const { body, headers } = signed();
    const without: Record<string, string | undefined> = { ...headers };
    delete without[name];
    let error: unknown;
    try {
      verifyWebhook(body, without, { secret: SECRET, now: NOW });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(WebhookVerificationError);
    expect(error).toBeInstanceOf(Error);
    expect((error as WebhookVerificationError).code).toBe('MISSING_HEADERS');
    expect((error as WebhookVerificationError).name).toBe('WebhookVerificationError');
    expect((error as Error).message).toContain(name);
    expect(codeOf(() => verifyWebhook(body, { ...headers, [name]: '' }, { secret: SECRET, now: NOW }))).toBe('MISSING_HEADERS');
    expect(codeOf(() => verifyWebhook(body, { ...headers, [name]: undefined }, { secret: SECRET, now: NOW }))).toBe('MISSING_HEADERS');
  });

  it('rejects a timestamp that is not whole Unix seconds as MISSING_HEADERS', () => {
    const { body, headers } = signed();
    for (const ts of ['hello', `${TS}.5`, `${TS}abc`, `-${TS}`, ` ${TS}`, '1e9']) {
      expect(codeOf(() => verifyWebhook(body, { ...headers, 'webhook-timestamp': ts }, { secret: SECRET, now: NOW })), ts).toBe('MISSING_HEADERS');
    }
  });

  it('accepts any matching signature in the list, with decoys first', () => {
    const { body, headers } = signed();
    const decoys = ['v1,' + Buffer.alloc(32, 1).toString('base64'), 'v1a,' + Buffer.alloc(64, 2).toString('base64'), 'v2,whatever', 'garbage'];
    const multi = { ...headers, 'webhook-signature': [...decoys, headers['webhook-signature']].join(' ') };
    expect(verifyWebhook(body, multi, { secret: SECRET, now: NOW })).toEqual(ENVELOPE);
    const onlyDecoys = { ...headers, 'webhook-signature': decoys.join(' ') };
    expect(codeOf(() => verifyWebhook(body, onlyDecoys, { secret: SECRET, now: NOW }))).toBe('BAD_SIGNATURE');
  });

  it('supports rotation on both sides: several keys in the header, several trusted keys', () => {
    const oldSecret = generateHmacSecret(new Uint8Array(32).fill(1));
    const newSecret = generateHmacSecret(new Uint8Array(32).fill(2));
    const both = signed({
      keys: [
        { algorithm: 'HMAC_SHA256', secret: decodeHmacSecret(oldSecret) },
        { algorithm: 'HMAC_SHA256', secret: decodeHmacSecret(newSecret) },
      ],
    });
    expect(codeOf(() => verifyWebhook(both.body, both.headers, { secret: oldSecret, now: NOW }))).toBe('OK');
    expect(codeOf(() => verifyWebhook(both.body, both.headers, { secret: newSecret, now: NOW }))).toBe('OK');
    const onlyNew = signed({ keys: [{ algorithm: 'HMAC_SHA256', secret: decodeHmacSecret(newSecret) }] });
    expect(codeOf(() => verifyWebhook(onlyNew.body, onlyNew.headers, { secret: [oldSecret, newSecret], now: NOW }))).toBe('OK');
    expect(codeOf(() => verifyWebhook(onlyNew.body, onlyNew.headers, { secret: [oldSecret], now: NOW }))).toBe('BAD_SIGNATURE');
  });

  it('works the same on a Buffer (or Uint8Array) body as on the string, and on the raw bytes', () => {
    const { body, headers } = signed();
    const buf = Buffer.from(body, 'utf8');
    expect(verifyWebhook(buf, headers, { secret: SECRET, now: NOW })).toEqual(ENVELOPE);
    expect(verifyWebhook(new Uint8Array(buf), headers, { secret: SECRET, now: NOW })).toEqual(ENVELOPE);
    // A Buffer that is a slice of a larger pool must be read within its own bounds.
    const pooled = Buffer.concat([Buffer.from('xxxx'), buf, Buffer.from('yyyy')]).subarray(4, 4 + buf.length);
    expect(verifyWebhook(pooled, headers, { secret: SECRET, now: NOW })).toEqual(ENVELOPE);
    const tampered = Buffer.from(buf);
    const at = tampered.length - 3;
    tampered[at] = tampered[at]! ^ 1;
    expect(codeOf(() => verifyWebhook(tampered, headers, { secret: SECRET, now: NOW }))).toBe('BAD_SIGNATURE');
  });

  it('reads a fetch Headers object and plain objects with any header case', () => {
    const { body, headers } = signed();
    expect(verifyWebhook(body, new Headers(headers), { secret: SECRET, now: NOW })).toEqual(ENVELOPE);
    const shouting = {
      'Webhook-Id': headers['webhook-id'],
      'WEBHOOK-TIMESTAMP': headers['webhook-timestamp'],
      'Webhook-Signature': headers['webhook-signature'],
      'Content-Type': 'application/json',
    };
    expect(verifyWebhook(body, shouting, { secret: SECRET, now: NOW })).toEqual(ENVELOPE);
    const missing = new Headers(headers);
    missing.delete('webhook-id');
    expect(codeOf(() => verifyWebhook(body, missing, { secret: SECRET, now: NOW }))).toBe('MISSING_HEADERS');
  });

  it('accepts array-valued headers as Node may present them', () => {
    const { body, headers } = signed();
    const arrays = {
      'webhook-id': [headers['webhook-id']],
      'webhook-timestamp': [headers['webhook-timestamp'], headers['webhook-timestamp']],
      'webhook-signature': ['v1,AAAA', headers['webhook-signature']],
    };
    expect(verifyWebhook(body, arrays, { secret: SECRET, now: NOW })).toEqual(ENVELOPE);
    const conflicting = { ...arrays, 'webhook-id': ['evt_01', 'evt_02'] };
    expect(codeOf(() => verifyWebhook(body, conflicting, { secret: SECRET, now: NOW }))).toBe('MISSING_HEADERS');
  });

  it('verifies Ed25519 via a whpk_ string, a JWK, or a list of keys, and mixed HMAC + Ed25519 headers', () => {
    const ed = signed({ keys: [{ algorithm: 'ED25519', seed: SEED }] });
    expect(verifyWebhook(ed.body, ed.headers, { publicKey: encodePublicKey(PUBLIC), now: NOW })).toEqual(ENVELOPE);
    expect(verifyWebhook(ed.body, ed.headers, { publicKey: publicKeyToJwk(PUBLIC, 'sk_1'), now: NOW })).toEqual(ENVELOPE);
    const otherJwk = publicKeyToJwk(ed25519PublicKeyFromSeed(new Uint8Array(32).fill(8)), 'sk_0');
    expect(verifyWebhook(ed.body, ed.headers, { publicKey: [otherJwk, encodePublicKey(PUBLIC)], now: NOW })).toEqual(ENVELOPE);
    expect(codeOf(() => verifyWebhook(ed.body, ed.headers, { publicKey: [otherJwk], now: NOW }))).toBe('BAD_SIGNATURE');
    const mixed = signed({
      keys: [
        { algorithm: 'HMAC_SHA256', secret: decodeHmacSecret(SECRET) },
        { algorithm: 'ED25519', seed: SEED },
      ],
    });
    expect(codeOf(() => verifyWebhook(mixed.body, mixed.headers, { publicKey: encodePublicKey(PUBLIC), now: NOW }))).toBe('OK');
    expect(codeOf(() => verifyWebhook(mixed.body, mixed.headers, { secret: SECRET, now: NOW }))).toBe('OK');
    expect(codeOf(() => verifyWebhook(mixed.body.slice(1), mixed.headers, { secret: SECRET, publicKey: encodePublicKey(PUBLIC), now: NOW }))).toBe(
      'BAD_SIGNATURE',
    );
  });

  it('defaults now to the system clock', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const { body, headers } = signed();
      vi.setSystemTime(NOW);
      expect(codeOf(() => verifyWebhook(body, headers, { secret: SECRET }))).toBe('OK');
      vi.setSystemTime(new Date((TS + 301) * 1000));
      expect(codeOf(() => verifyWebhook(body, headers, { secret: SECRET }))).toBe('STALE_TIMESTAMP');
    } finally {
      vi.useRealTimers();
    }
  });

  it('throws TypeError for usage mistakes rather than a verification error', () => {
    const { body, headers } = signed();
    expect(() => verifyWebhook(body, headers, {})).toThrow(TypeError);
    expect(() => verifyWebhook(body, headers, { secret: [], publicKey: [] })).toThrow(TypeError);
    expect(() => verifyWebhook(JSON.parse(body) as unknown as string, headers, { secret: SECRET })).toThrow(/raw request body/);
    expect(() => verifyWebhook(body, headers, { secret: SECRET, toleranceSeconds: -1 })).toThrow(TypeError);
    expect(() => verifyWebhook(body, headers, { secret: SECRET, now: new Date(Number.NaN) })).toThrow(TypeError);
    expect(() => verifyWebhook(body, headers, undefined as unknown as { secret: string })).toThrow(TypeError);
  });

  it('throws a plain error for a malformed key, never a verification error', () => {
    const { body, headers } = signed();
    expect(() => verifyWebhook(body, headers, { secret: 'whsec_***', now: NOW })).toThrow(/HMAC secret/);
    expect(() => verifyWebhook(body, headers, { publicKey: { kty: 'RSA' }, now: NOW })).toThrow(/kty/);
    expect(codeOf(() => verifyWebhook(body, headers, { publicKey: 'whpk_short', now: NOW }))).toBe('OTHER');
  });

  it('refuses an authentic body that is not a JSON object', () => {
    for (const raw of ['[1,2]', '"text"', 'null', 'not json']) {
      const { body, headers } = signed({ body: raw });
      expect(() => verifyWebhook(body, headers, { secret: SECRET, now: NOW }), raw).toThrow(raw === 'not json' ? SyntaxError : TypeError);
    }
  });
});

describe('agreement with the standardwebhooks reference library', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  type Case = { name: string; body: string | Buffer; headers: Record<string, string>; secret: string };
  const good = signed();
  const table: Case[] = [
    { name: 'valid', ...good, secret: SECRET },
    { name: 'valid, Buffer body', body: Buffer.from(good.body), headers: good.headers, secret: SECRET },
    { name: 'reference vector at its own time', body: REF.body, headers: refHeaders(), secret: REF.secret },
    { name: 'tampered body', body: good.body.replace('run_7', 'run_9'), headers: good.headers, secret: SECRET },
    { name: 'tampered id', body: good.body, headers: { ...good.headers, 'webhook-id': 'evt_99' }, secret: SECRET },
    { name: 'wrong secret', ...good, secret: REF.secret },
    { name: 'secret without prefix', ...good, secret: SECRET.slice(6) },
    { name: 'only v2 entries', body: good.body, headers: { ...good.headers, 'webhook-signature': good.headers['webhook-signature'].replace('v1,', 'v2,') }, secret: SECRET },
    { name: 'decoys then valid', body: good.body, headers: { ...good.headers, 'webhook-signature': `${REF.decoy} v2,x ${good.headers['webhook-signature']}` }, secret: SECRET },
    { name: 'truncated signature', body: good.body, headers: { ...good.headers, 'webhook-signature': good.headers['webhook-signature'].slice(0, -2) }, secret: SECRET },
    { name: 'empty signature entry', body: good.body, headers: { ...good.headers, 'webhook-signature': 'v1,' }, secret: SECRET },
    { name: 'missing id', body: good.body, headers: { 'webhook-timestamp': good.headers['webhook-timestamp'], 'webhook-signature': good.headers['webhook-signature'] }, secret: SECRET },
    { name: 'missing signature', body: good.body, headers: { 'webhook-id': good.headers['webhook-id'], 'webhook-timestamp': good.headers['webhook-timestamp'] }, secret: SECRET },
    { name: 'capitalised header names', body: good.body, headers: Object.fromEntries(Object.entries(good.headers).map(([k, v]) => [k.toUpperCase(), v])), secret: SECRET },
    { name: 'stale by 301 s', ...signed({ ts: TS - 301 }), secret: SECRET },
    { name: 'old by exactly 300 s', ...signed({ ts: TS - 300 }), secret: SECRET },
    { name: 'future by 301 s', ...signed({ ts: TS + 301 }), secret: SECRET },
    { name: 'future by exactly 300 s', ...signed({ ts: TS + 300 }), secret: SECRET },
  ];

  function libAccepts(c: Case, nowMs: number): unknown {
    vi.setSystemTime(nowMs);
    try {
      return { ok: new Webhook(c.secret).verify(c.body, c.headers) };
    } catch (e) {
      expect(e).toBeInstanceOf(LibVerificationError);
      return 'rejected';
    }
  }

  function weAccept(c: Case, nowMs: number): unknown {
    try {
      return { ok: verifyWebhook(c.body, c.headers, { secret: c.secret, now: new Date(nowMs) }) };
    } catch (e) {
      expect(e).toBeInstanceOf(WebhookVerificationError);
      return 'rejected';
    }
  }

  it.each(table)('$name', (c) => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const nowMs = c.secret === REF.secret && c.body === REF.body ? REF.timestamp * 1000 : TS * 1000;
    const ours = weAccept(c, nowMs);
    expect(ours).toEqual(libAccepts(c, nowMs));
    // Guard against a table where everything is rejected (or accepted) for the same wrong reason.
    expect(ours === 'rejected').toBe(!['valid', 'valid, Buffer body', 'reference vector at its own time', 'secret without prefix', 'decoys then valid', 'capitalised header names', 'old by exactly 300 s', 'future by exactly 300 s'].includes(c.name));
  });

  it('property: agrees on generated requests, mutations and clock skews', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const mutation = fc.constantFrom('none', 'body', 'id', 'timestamp', 'secret', 'drop-id', 'drop-signature', 'decoys');
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 24, maxLength: 64 }),
        fc.string({ minLength: 1, maxLength: 40 }).filter((s) => s.trim() === s && !s.includes(' ') && s !== ''),
        fc.dictionary(fc.string(), fc.jsonValue()),
        fc.integer({ min: -400, max: 400 }),
        mutation,
        fc.boolean(),
        (secretBytes, id, data, skew, mutate, asBuffer) => {
          const secret = `whsec_${Buffer.from(secretBytes).toString('base64')}`;
          const body = JSON.stringify({ id, type: 'webhook.test', timestamp: NOW.toISOString(), data });
          const ts = TS + skew;
          let headers: Record<string, string> = {
            'webhook-id': id,
            'webhook-timestamp': String(ts),
            'webhook-signature': createSigner([{ algorithm: 'HMAC_SHA256', secret: secretBytes }])(id, ts, body),
          };
          let sentBody = body;
          let usedSecret = secret;
          if (mutate === 'body') sentBody = body.slice(0, -1) + ' }';
          if (mutate === 'id') headers = { ...headers, 'webhook-id': `${id}x` };
          if (mutate === 'timestamp') headers = { ...headers, 'webhook-timestamp': String(ts + 1) };
          if (mutate === 'secret') usedSecret = `whsec_${Buffer.from(secretBytes.map((b) => b ^ 0x80)).toString('base64')}`;
          if (mutate === 'drop-id') delete headers['webhook-id'];
          if (mutate === 'drop-signature') delete headers['webhook-signature'];
          if (mutate === 'decoys') headers = { ...headers, 'webhook-signature': `${REF.decoy} v1a,${REF.decoy.slice(3)} ${headers['webhook-signature']}` };
          const c: Case = { name: mutate, body: asBuffer ? Buffer.from(sentBody) : sentBody, headers, secret: usedSecret };
          const ours = weAccept(c, TS * 1000);
          expect(ours).toEqual(libAccepts(c, TS * 1000));
          const shouldPass = (mutate === 'none' || mutate === 'decoys') && Math.abs(skew) <= 300;
          expect(ours !== 'rejected').toBe(shouldPass);
        },
      ),
      { numRuns: 300 },
    );
  });
});
