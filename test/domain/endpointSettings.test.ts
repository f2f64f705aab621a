import { generateKeyPairSync } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_ENDPOINT_SETTINGS,
  validateCreateEndpoint,
  validateEndpointUpdate,
  type CreateEndpointSettingsInput,
} from '../../server/domain/endpointSettings.js';
import { describeCertificates } from '../../server/domain/endpointTls.js';
import { createUrlRules, type UrlRules } from '../../server/domain/endpointUrl.js';
import { DEFAULT_RETRY_POLICY } from '../../server/domain/retrySchedule.js';
import { getTestCertificates, type TestCertificates } from '../helpers/certs.js';

const NOW = Date.now();

function rules(options: { allowHttp?: boolean; allowedCidrs?: string } = {}): UrlRules {
  const built = createUrlRules({ allowHttp: options.allowHttp ?? false, allowedCidrs: options.allowedCidrs ?? '' });
  if (!built.ok) throw new Error(built.error);
  return built.rules;
}

const STRICT = rules();

function create(input: Partial<CreateEndpointSettingsInput>, r: UrlRules = STRICT, nowMs = NOW) {
  return validateCreateEndpoint({ url: 'https://hooks.example.com/in', ...input }, r, nowMs);
}

function problemsOf(result: ReturnType<typeof create> | ReturnType<typeof validateEndpointUpdate>) {
  if (result.ok) throw new Error(`expected problems, got ${JSON.stringify(result.value)}`);
  return result.problems;
}

function fields(result: ReturnType<typeof create> | ReturnType<typeof validateEndpointUpdate>): string[] {
  return problemsOf(result).map((p) => p.field);
}

const CURRENT = {
  retryPolicy: { initialBackoffSeconds: 10, multiplier: 2, maxBackoffSeconds: 600, maxAttempts: 5 },
  circuitBreaker: { enabled: false, failureThreshold: 3, cooldownSeconds: 30 },
};

describe('validateCreateEndpoint: defaults', () => {
  it('fills every SPEC §3 default', () => {
    const result = create({});
    expect(result).toEqual({
      ok: true,
      value: {
        url: 'https://hooks.example.com/in',
        description: '',
        labels: [],
        timeoutMs: 15_000,
        retryPolicy: { initialBackoffSeconds: 5, multiplier: 6, maxBackoffSeconds: 36_000, maxAttempts: 8 },
        circuitBreaker: { enabled: true, failureThreshold: 10, cooldownSeconds: 60 },
        maxInFlight: 16,
        rateLimitPerSecond: null,
        orderingMode: 'BEST_EFFORT',
        headers: [],
        tls: null,
        signingAlgorithm: 'HMAC_SHA256',
      },
    });
  });

  it('treats null like absent', () => {
    const result = create({
      description: null,
      labels: null,
      timeoutMs: null,
      retryPolicy: null,
      circuitBreaker: null,
      maxInFlight: null,
      rateLimitPerSecond: null,
      orderingMode: null,
      headers: null,
      tls: null,
      signingAlgorithm: null,
    });
    expect(result.ok && result.value).toEqual({ url: 'https://hooks.example.com/in', ...DEFAULT_ENDPOINT_SETTINGS });
  });

  it('merges a partial retry policy and breaker with the defaults', () => {
    const result = create({ retryPolicy: { maxAttempts: 3 }, circuitBreaker: { enabled: false } });
    expect(result.ok && result.value.retryPolicy).toEqual({ ...DEFAULT_RETRY_POLICY, maxAttempts: 3 });
    expect(result.ok && result.value.circuitBreaker).toEqual({ enabled: false, failureThreshold: 10, cooldownSeconds: 60 });
  });
});

describe('url', () => {
  it('accepts https and normalises it', () => {
    const result = create({ url: '  HTTPS://Hooks.Example.COM  ' });
    expect(result.ok && result.value.url).toBe('https://hooks.example.com/');
  });

  it.each([
    ['not a url', 'not a valid absolute URL'],
    ['', 'url is required'],
    ['/relative/path', 'not a valid absolute URL'],
    ['ftp://example.com/x', 'must use https://'],
    ['javascript:alert(1)', 'must use https://'],
  ])('refuses %j', (url, message) => {
    const problems = problemsOf(create({ url }));
    expect(problems).toHaveLength(1);
    expect(problems[0]!.field).toBe('url');
    expect(problems[0]!.message).toContain(message);
  });

  it('refuses http:// unless allowHttp, naming WEBHOOKS_ALLOW_HTTP', () => {
    const problems = problemsOf(create({ url: 'http://hooks.example.com/' }));
    expect(problems[0]!.message).toContain('WEBHOOKS_ALLOW_HTTP');
    expect(create({ url: 'http://hooks.example.com/' }, rules({ allowHttp: true })).ok).toBe(true);
  });

  it('refuses credentials and fragments', () => {
    expect(problemsOf(create({ url: 'https://user:pw@hooks.example.com/' }))[0]!.message).toContain('username or password');
    expect(problemsOf(create({ url: 'https://user@hooks.example.com/' }))[0]!.message).toContain('username or password');
    expect(problemsOf(create({ url: 'https://hooks.example.com/#frag' }))[0]!.message).toContain('fragment');
    expect(problemsOf(create({ url: 'https://hooks.example.com/#' }))[0]!.message).toContain('fragment');
  });

  it('refuses URLs over 2048 characters', () => {
    const url = `https://hooks.example.com/${'a'.repeat(2048)}`;
    expect(problemsOf(create({ url }))[0]!.message).toContain('2048');
    expect(create({ url: `https://hooks.example.com/${'a'.repeat(2000)}` }).ok).toBe(true);
  });

  it.each([
    ['https://127.0.0.1/x', 'loopback'],
    ['https://10.1.2.3/x', 'private'],
    ['https://169.254.169.254/latest', 'metadata'],
    ['https://[::1]/x', 'loopback'],
    ['https://[fd00::1]/x', 'unique-local'],
    ['https://0x7f.1/x', 'loopback'], // WHATWG normalises this to 127.0.0.1
    ['https://[::ffff:127.0.0.1]/x', 'loopback'],
  ])('refuses the blocked IP literal %s, naming WEBHOOKS_ALLOWED_CIDRS', (url, reason) => {
    const problems = problemsOf(create({ url }));
    expect(problems[0]!.field).toBe('url');
    expect(problems[0]!.message).toContain(reason);
    expect(problems[0]!.message).toContain('WEBHOOKS_ALLOWED_CIDRS');
  });

  it('accepts blocked IP literals inside the allowlist, and public ones always', () => {
    const allowed = rules({ allowedCidrs: '127.0.0.0/8,::1/128' });
    expect(create({ url: 'https://127.0.0.1:8443/x' }, allowed).ok).toBe(true);
    expect(create({ url: 'https://[::1]:8443/x' }, allowed).ok).toBe(true);
    expect(create({ url: 'https://10.0.0.1/x' }, allowed).ok).toBe(false);
    expect(create({ url: 'https://93.184.216.34/x' }).ok).toBe(true);
    expect(create({ url: 'https://[2606:2800:220:1::1]/x' }).ok).toBe(true);
  });

  it('leaves host names to the connect-time check', () => {
    expect(create({ url: 'https://localhost/x' }).ok).toBe(true);
  });

  it('reports a bad allowlist', () => {
    const built = createUrlRules({ allowHttp: false, allowedCidrs: '10.0.0.0/33' });
    expect(built.ok).toBe(false);
    expect(!built.ok && built.error).toContain('WEBHOOKS_ALLOWED_CIDRS');
  });
});

describe('description and labels', () => {
  it('trims and limits the description to 1000 characters', () => {
    expect(create({ description: '  hi  ' }).ok && (create({ description: '  hi  ' }) as { value: { description: string } }).value.description).toBe('hi');
    expect(create({ description: 'x'.repeat(1000) }).ok).toBe(true);
    expect(fields(create({ description: 'x'.repeat(1001) }))).toEqual(['description']);
  });

  it('trims labels and refuses empty, long, duplicate and too many', () => {
    const ok = create({ labels: [' team:security ', 'tier:1'] });
    expect(ok.ok && ok.value.labels).toEqual(['team:security', 'tier:1']);
    expect(fields(create({ labels: ['a', '   '] }))).toEqual(['labels[1]']);
    expect(fields(create({ labels: ['x'.repeat(65)] }))).toEqual(['labels[0]']);
    expect(create({ labels: ['x'.repeat(64)] }).ok).toBe(true);
    const dup = problemsOf(create({ labels: ['a', 'b', ' a'] }));
    expect(dup).toEqual([{ field: 'labels[2]', message: expect.stringContaining('repeats labels[0]') }]);
    expect(fields(create({ labels: Array.from({ length: 21 }, (_, i) => `l${i}`) }))).toEqual(['labels']);
    expect(create({ labels: Array.from({ length: 20 }, (_, i) => `l${i}`) }).ok).toBe(true);
    expect(fields(create({ labels: ['bad\u0007label'] }))).toEqual(['labels[0]']);
  });
});

describe('numeric settings', () => {
  it.each([
    ['timeoutMs', 999, false],
    ['timeoutMs', 1000, true],
    ['timeoutMs', 30_000, true],
    ['timeoutMs', 30_001, false],
    ['timeoutMs', 1500.5, false],
    ['maxInFlight', 0, false],
    ['maxInFlight', 1, true],
    ['maxInFlight', 1000, true],
    ['maxInFlight', 1001, false],
    ['rateLimitPerSecond', 0, false],
    ['rateLimitPerSecond', 1, true],
    ['rateLimitPerSecond', 100_000, true],
    ['rateLimitPerSecond', 100_001, false],
  ] as const)('%s = %d → valid: %s', (field, value, valid) => {
    const result = create({ [field]: value });
    expect(result.ok).toBe(valid);
    if (!valid) {
      expect(fields(result)).toEqual([field]);
      expect(problemsOf(result)[0]!.message).toMatch(/between \d+ and \d+/);
    }
  });

  it('names each bad retry and breaker field with its path and range', () => {
    const problems = problemsOf(
      create({
        retryPolicy: { initialBackoffSeconds: 0, multiplier: 11, maxAttempts: 51 },
        circuitBreaker: { failureThreshold: 0, cooldownSeconds: 3601 },
      }),
    );
    expect(problems.map((p) => p.field)).toEqual([
      'retryPolicy.initialBackoffSeconds',
      'retryPolicy.multiplier',
      'retryPolicy.maxAttempts',
      'circuitBreaker.failureThreshold',
      'circuitBreaker.cooldownSeconds',
    ]);
    expect(problems[0]!.message).toBe('retryPolicy.initialBackoffSeconds must be a whole number between 1 and 3600 (got 0).');
    expect(problems[4]!.message).toContain('between 1 and 3600');
  });

  it('refuses maxBackoffSeconds below initialBackoffSeconds', () => {
    const problems = problemsOf(create({ retryPolicy: { initialBackoffSeconds: 60, maxBackoffSeconds: 30 } }));
    expect(problems).toEqual([{ field: 'retryPolicy.maxBackoffSeconds', message: expect.stringContaining('initialBackoffSeconds (60)') }]);
  });

  it('collects every problem at once', () => {
    const problems = problemsOf(create({ url: 'ftp://x', timeoutMs: 1, maxInFlight: 0, labels: [''] }));
    expect(problems.map((p) => p.field)).toEqual(['url', 'labels[0]', 'timeoutMs', 'maxInFlight']);
  });

  it('checks enums even without GraphQL in front', () => {
    expect(fields(create({ orderingMode: 'RANDOM' }))).toEqual(['orderingMode']);
    expect(fields(create({ signingAlgorithm: 'RSA' }))).toEqual(['signingAlgorithm']);
    const ok = create({ orderingMode: 'STRICT', signingAlgorithm: 'ED25519' });
    expect(ok.ok && [ok.value.orderingMode, ok.value.signingAlgorithm]).toEqual(['STRICT', 'ED25519']);
  });
});

describe('headers', () => {
  it('accepts token names and keeps their case and order', () => {
    const result = create({ headers: [{ name: 'X-Api-Token', value: 'abc' }, { name: 'Authorization', value: 'Bearer t' }] });
    expect(result.ok && result.value.headers).toEqual([
      { name: 'X-Api-Token', value: 'abc' },
      { name: 'Authorization', value: 'Bearer t' },
    ]);
  });

  it.each([
    'Host', 'content-length', 'Content-Type', 'transfer-encoding', 'Connection', 'User-Agent', 'webhook-id', 'Webhook-Signature', 'WEBHOOK-custom',
    // What undici refuses to send (every delivery failed CONNECTION with them): issue 16, row 11.
    'Expect', 'upgrade', 'Keep-Alive', 'Proxy-Connection', 'TE', 'Trailer',
  ])(
    'refuses the reserved name %s',
    (name) => {
      const problems = problemsOf(create({ headers: [{ name: 'X-Ok', value: '1' }, { name, value: 'v' }] }));
      expect(problems).toEqual([{ field: 'headers[1].name', message: expect.stringContaining('cannot be overridden') }]);
    },
  );

  it.each(['', 'Bad Name', 'x:y', 'naïve', 'a\nb', '(x)'])('refuses the invalid name %j', (name) => {
    expect(fields(create({ headers: [{ name, value: 'v' }] }))).toEqual(['headers[0].name']);
  });

  it('refuses CR, LF and NUL in values', () => {
    for (const value of ['a\r\nX-Injected: 1', 'a\nb', 'a\rb', 'a\0b']) {
      expect(fields(create({ headers: [{ name: 'X-A', value }] }))).toEqual(['headers[0].value']);
    }
  });

  it('refuses every value undici would refuse (control characters, DEL, anything above U+00FF), naming the header and never echoing the value', () => {
    const refused = ['\u0001', '\u0007', '\u001f', '\u007f', 'sk_\u0100', 'Bearer €', 'emoji 😀', 'zero\u200bwidth'];
    for (const value of refused) {
      const problems = problemsOf(create({ headers: [{ name: 'X-Secret', value: `tok${value}en` }] }));
      expect(problems, JSON.stringify(value)).toEqual([{ field: 'headers[0].value', message: expect.stringContaining('header "X-Secret"') }]);
      expect(problems[0]!.message).not.toContain('tok');
    }
    // What undici sends: tab, visible ASCII, space and Latin-1.
    for (const value of ['Bearer abc.def', 'a\tb', 'caf\u00e9', '\u00ff', '']) {
      expect(create({ headers: [{ name: 'X-A', value }] }).ok, JSON.stringify(value)).toBe(true);
    }
  });

  it('refuses duplicates ignoring case, and more than 20', () => {
    const problems = problemsOf(create({ headers: [{ name: 'X-A', value: '1' }, { name: 'x-a', value: '2' }] }));
    expect(problems).toEqual([{ field: 'headers[1].name', message: expect.stringContaining('repeats headers[0]') }]);
    const many = Array.from({ length: 21 }, (_, i) => ({ name: `X-${i}`, value: 'v' }));
    expect(fields(create({ headers: many }))).toEqual(['headers']);
    expect(create({ headers: many.slice(0, 20) }).ok).toBe(true);
  });
});

describe('tls', () => {
  let certs: TestCertificates;
  let otherKeyPem: string;
  beforeAll(async () => {
    certs = await getTestCertificates();
    otherKeyPem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  });

  it('accepts a matching client certificate and key, and a CA', () => {
    const result = create({ tls: { clientCertificatePem: certs.clientCertPem, clientKeyPem: certs.clientKeyPem, caCertificatePem: certs.caCertPem } });
    expect(result.ok).toBe(true);
    expect(result.ok && result.value.tls?.clientKeyPem).toContain('PRIVATE KEY');
    expect(create({ tls: { caCertificatePem: certs.caCertPem } }).ok).toBe(true);
  });

  it('accepts a CA bundle of several certificates', () => {
    expect(create({ tls: { caCertificatePem: certs.caCertPem + certs.serverCertPem } }).ok).toBe(true);
  });

  it('requires the certificate and key together', () => {
    expect(fields(create({ tls: { clientCertificatePem: certs.clientCertPem } }))).toEqual(['tls.clientKeyPem']);
    expect(fields(create({ tls: { clientKeyPem: certs.clientKeyPem } }))).toEqual(['tls.clientCertificatePem']);
    expect(fields(create({ tls: {} }))).toEqual(['tls']);
  });

  it('says which PEM does not parse', () => {
    const garbled = certs.clientCertPem.replace(/\n[A-Za-z0-9+/]{20}/, '\n!!!!garbage!!!!!!!!!');
    expect(fields(create({ tls: { clientCertificatePem: 'hello', clientKeyPem: certs.clientKeyPem } }))).toEqual(['tls.clientCertificatePem']);
    expect(fields(create({ tls: { clientCertificatePem: garbled, clientKeyPem: certs.clientKeyPem } }))).toEqual(['tls.clientCertificatePem']);
    expect(fields(create({ tls: { clientCertificatePem: certs.clientCertPem, clientKeyPem: 'not a key' } }))).toEqual(['tls.clientKeyPem']);
    expect(
      fields(create({ tls: { clientCertificatePem: certs.clientCertPem, clientKeyPem: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n' } })),
    ).toEqual(['tls.clientKeyPem']);
    expect(fields(create({ tls: { caCertificatePem: 'nope' } }))).toEqual(['tls.caCertificatePem']);
  });

  it('refuses a key that does not match the certificate, and never echoes the key', () => {
    const problems = problemsOf(create({ tls: { clientCertificatePem: certs.clientCertPem, clientKeyPem: otherKeyPem } }));
    expect(problems).toEqual([{ field: 'tls.clientKeyPem', message: expect.stringContaining('does not belong') }]);
    const keyBody = otherKeyPem.split('\n')[1]!;
    expect(JSON.stringify(problems)).not.toContain(keyBody);
    // The server key is valid but belongs to another certificate.
    expect(fields(create({ tls: { clientCertificatePem: certs.clientCertPem, clientKeyPem: certs.serverKeyPem } }))).toEqual(['tls.clientKeyPem']);
  });

  it('refuses encrypted keys with a clear message', () => {
    const encrypted = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .privateKey.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'pw' })
      .toString();
    const problems = problemsOf(create({ tls: { clientCertificatePem: certs.clientCertPem, clientKeyPem: encrypted } }));
    expect(problems[0]!.message).toContain('passphrase');
  });

  it('refuses an expired client certificate (now passed in)', () => {
    const later = NOW + 30 * 24 * 3600 * 1000;
    const problems = problemsOf(create({ tls: { clientCertificatePem: certs.clientCertPem, clientKeyPem: certs.clientKeyPem } }, STRICT, later));
    expect(problems).toEqual([{ field: 'tls.clientCertificatePem', message: expect.stringContaining('expired') }]);
  });

  it('describes stored certificates', () => {
    const [info] = describeCertificates(certs.clientCertPem);
    expect(info!.subject).toBe(`CN=${certs.clientSubjectCn}`);
    expect(info!.issuer).toBe('CN=webhook-test-ca');
    expect(info!.validTo.getTime()).toBeGreaterThan(NOW);
    expect(info!.fingerprintSha256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(describeCertificates(certs.caCertPem + certs.serverCertPem)).toHaveLength(2);
    expect(describeCertificates('garbage')).toEqual([]);
  });
});

describe('validateEndpointUpdate', () => {
  it('returns only the fields given', () => {
    expect(validateEndpointUpdate({}, CURRENT, STRICT, NOW)).toEqual({ ok: true, value: {} });
    expect(validateEndpointUpdate({ description: 'x', timeoutMs: 2000 }, CURRENT, STRICT, NOW)).toEqual({
      ok: true,
      value: { description: 'x', timeoutMs: 2000 },
    });
  });

  it('merges partial retry and breaker settings into the current ones', () => {
    const result = validateEndpointUpdate({ retryPolicy: { maxAttempts: 9 }, circuitBreaker: { cooldownSeconds: 90 } }, CURRENT, STRICT, NOW);
    expect(result).toEqual({
      ok: true,
      value: {
        retryPolicy: { ...CURRENT.retryPolicy, maxAttempts: 9 },
        circuitBreaker: { ...CURRENT.circuitBreaker, cooldownSeconds: 90 },
      },
    });
  });

  it('resets to defaults on null, removes the rate limit and TLS on null', () => {
    const result = validateEndpointUpdate(
      { retryPolicy: null, circuitBreaker: null, timeoutMs: null, rateLimitPerSecond: null, tls: null, headers: null, labels: null, description: null },
      CURRENT,
      STRICT,
      NOW,
    );
    expect(result).toEqual({
      ok: true,
      value: {
        retryPolicy: DEFAULT_ENDPOINT_SETTINGS.retryPolicy,
        circuitBreaker: DEFAULT_ENDPOINT_SETTINGS.circuitBreaker,
        timeoutMs: 15_000,
        rateLimitPerSecond: null,
        tls: null,
        headers: [],
        labels: [],
        description: '',
      },
    });
  });

  it('refuses url: null and validates like create', () => {
    expect(fields(validateEndpointUpdate({ url: null }, CURRENT, STRICT, NOW))).toEqual(['url']);
    expect(fields(validateEndpointUpdate({ url: 'http://x.example.com' }, CURRENT, STRICT, NOW))).toEqual(['url']);
    expect(fields(validateEndpointUpdate({ retryPolicy: { maxBackoffSeconds: 5 } }, CURRENT, STRICT, NOW))).toEqual(['retryPolicy.maxBackoffSeconds']);
    expect(fields(validateEndpointUpdate({ headers: [{ name: 'Host', value: 'x' }] }, CURRENT, STRICT, NOW))).toEqual(['headers[0].name']);
  });
});
