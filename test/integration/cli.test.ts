/**
 * The `org-webhooks` bin as a pipeline runs it: the compiled JavaScript (what `npm install`
 * builds, no tsx) in a child process, against a real service. Exit codes, the plan report,
 * ${ENV} substitution, secrets kept out of logs, and a retry after a lost answer applied once.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';

const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'dist/cli/orgWebhooks.js');
let service: TestService;
let dir: string;
let org: { orgId: string; apiKey: string };

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], env: Record<string, string | undefined> = {}, stdin?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    // Only what the test gives: no tsx loader, no inherited WEBHOOKS_* variables.
    const child = spawn(process.execPath, [bin, ...args], {
      cwd: dir,
      env: { PATH: process.env.PATH, WEBHOOKS_URL: service.url, WEBHOOKS_API_KEY: org.apiKey, ...env } as NodeJS.ProcessEnv,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin ?? '');
  });
}

const file = (name: string, text: string) => {
  const at = path.join(dir, name);
  writeFileSync(at, text);
  return at;
};

const endpointCount = async () => (await service.database.sql`SELECT count(*)::int AS n FROM endpoints WHERE org_id = ${org.orgId} AND deleted_at IS NULL`)[0]!.n;

const DOCUMENT = `
version: 1
eventTypes:
  acme.invoice.paid:
    description: An invoice was paid.
endpoints:
  billing:
    url: http://127.0.0.1:9/billing
    patterns: [acme.invoice.*]
    headers:
      Authorization: "Bearer \${BILLING_TOKEN}"
    retryPolicy:
      maxAttempts: 5
`;

beforeAll(async () => {
  // The bin is the compiled server build (`npm run build:server`, run by `npm install`'s prepare);
  // the test run's global setup rebuilds it when a source changed.
  service = await startTestService();
  const created = await service.services.organizations.createOrganization({ name: 'cli-org', plan: 'enterprise' });
  org = { orgId: created.org.id, apiKey: created.apiKey };
  dir = mkdtempSync(path.join(tmpdir(), 'org-webhooks-cli-'));
}, 120_000);

afterAll(async () => {
  await service?.close();
});

describe('org-webhooks', () => {
  it('apply --dry-run exits 2 with the plan when something would change, and changes nothing', async () => {
    const doc = file('webhooks.yaml', DOCUMENT);
    const result = await run(['apply', '-f', doc, '--dry-run'], { BILLING_TOKEN: 'tok-123' });
    expect(result.code, result.stderr).toBe(2);
    expect(result.stdout).toContain('Plan (dry run)');
    expect(result.stdout).toContain('+ event type acme.invoice.paid');
    expect(result.stdout).toContain('+ endpoint billing');
    expect(result.stdout).toContain('retryPolicy: {"initialBackoffSeconds":5,"multiplier":6,"maxBackoffSeconds":36000,"maxAttempts":5}');
    expect(result.stdout).toContain('headers: (secret value set)');
    expect(result.stdout + result.stderr).not.toContain('tok-123');
    expect(result.stdout).toContain('2 to create, 0 to update, 0 to delete, 0 unchanged (dry run: nothing was changed).');
    expect(await endpointCount()).toBe(0);
  });

  it('apply creates, keeps new secrets out of a non-terminal log, and hands them to --secrets-out on a replay with the same key', async () => {
    const doc = file('webhooks.yaml', DOCUMENT);
    const applied = await run(['apply', '-f', doc, '--idempotency-key', 'deploy-42'], { BILLING_TOKEN: 'tok-123' });
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toContain('Applied for');
    expect(applied.stdout).not.toContain('whsec_');
    expect(applied.stderr).toContain('--idempotency-key deploy-42 --secrets-out FILE');
    expect(await endpointCount()).toBe(1);
    // As the admin reads it (header values are stored sealed, opened for roles that read secrets).
    const { endpoint } = await service.client(org.apiKey).data(`query { endpoint(id: "billing") { headers { name value } } }`);
    expect(endpoint.headers).toEqual([{ name: 'Authorization', value: 'Bearer tok-123' }]);

    const replay = await run(['apply', '-f', doc, '--idempotency-key', 'deploy-42', '--secrets-out', 'secrets.json'], { BILLING_TOKEN: 'tok-123' });
    expect(replay.code, replay.stderr).toBe(0);
    const secrets = JSON.parse(readFileSync(path.join(dir, 'secrets.json'), 'utf8'));
    expect(Object.keys(secrets)).toEqual(['billing']);
    expect(secrets.billing).toMatch(/^whsec_/);
    expect(statSync(path.join(dir, 'secrets.json')).mode & 0o777).toBe(0o600);
    expect(await endpointCount()).toBe(1);

    const again = await run(['apply', '-f', doc, '--dry-run'], { BILLING_TOKEN: 'tok-123' });
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toContain('0 to create, 0 to update, 0 to delete, 2 unchanged');
    const changed = await run(['apply', '-f', doc, '--dry-run'], { BILLING_TOKEN: 'tok-456' });
    expect(changed.code).toBe(2);
    expect(changed.stdout).toContain('~ endpoint billing');
    expect(changed.stdout).toContain('headers.Authorization: (secret value changed)');
  });

  it('export prints YAML that applies as a no-op; JSON and standard input work too', async () => {
    const exported = await run(['export']);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout).toMatch(/^# Exported from/);
    const document = parse(exported.stdout);
    expect(document.endpoints.billing.headers).toEqual({ Authorization: { unchanged: true } });
    expect(exported.stdout).not.toContain('tok-123');
    const written = await run(['export', '-o', 'current.yaml']);
    expect(written.code).toBe(0);
    const noop = await run(['apply', '-f', 'current.yaml', '--dry-run', '--prune']);
    expect(noop.code, noop.stdout + noop.stderr).toBe(0);
    const json = await run(['export', '--format', 'json']);
    const fromStdin = await run(['apply', '-f', '-', '--dry-run', '--prune'], {}, json.stdout);
    expect(fromStdin.code, fromStdin.stderr).toBe(0);
    const jsonFile = file('current.json', json.stdout);
    expect((await run(['apply', '-f', jsonFile, '--dry-run', '--json'])).stdout).toContain('"action": "UNCHANGED"');
    // An operator's key may export (it shows nothing an operator cannot read).
    const operatorKey = (await service.client(org.apiKey).data(`mutation { createApiKey(role: OPERATOR, name: "ops") { key } }`)).createApiKey.key;
    expect((await run(['export'], { WEBHOOKS_API_KEY: operatorKey })).code).toBe(0);
    const refused = await run(['apply', '-f', jsonFile], { WEBHOOKS_API_KEY: operatorKey });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^Error \(FORBIDDEN\): /);
  });

  it('errors exit 1 with a clear line and change nothing', async () => {
    const before = await endpointCount();
    const invalid = file('invalid.yaml', 'endpoints:\n  bad:\n    url: ftp://x\n    timeoutMs: 5\n  "has space": {url: "http://127.0.0.1:9/"}\n');
    const problems = await run(['apply', '-f', invalid]);
    expect(problems.code).toBe(1);
    expect(problems.stderr.split('\n')[0]).toBe('Error: the document has 3 problems; nothing was changed.');
    expect(problems.stderr).toContain('  endpoints.bad.url: url must use https://');
    expect(problems.stderr).toContain('  endpoints.bad.timeoutMs: timeoutMs must be a whole number between 1000 and 30000');

    const cases: [string[], Record<string, string | undefined>, RegExp][] = [
      [['apply', '-f', file('syntax.yaml', 'endpoints:\n  a: [\n')], {}, /^Error: .*syntax\.yaml:\d+:\d+: /],
      [['apply', '-f', file('dup.yaml', 'endpoints:\n  a: {}\n  a: {}\n')], {}, /^Error: .*dup\.yaml:3:3: .*unique/i],
      [['apply', '-f', file('env.yaml', DOCUMENT)], {}, /^Error: The document refers to what cannot be substituted:\n {2}endpoints\.billing\.headers\.Authorization: the environment variable BILLING_TOKEN is not set/],
      [['apply', '-f', 'missing.yaml'], {}, /^Error: Cannot read missing\.yaml: no such file/],
      [['apply'], {}, /^Error: apply needs -f FILE/],
      [['apply', '-f', invalid, '--force'], {}, /^Error: Unknown option '--force'/],
      [['deploy'], {}, /^Error: Unknown command "deploy"/],
      [['export'], { WEBHOOKS_URL: undefined }, /^Error: Set WEBHOOKS_URL/],
      [['export'], { WEBHOOKS_API_KEY: 'whk_forged' }, /^Error \(UNAUTHENTICATED\): /],
      [['export', '--format', 'xml'], {}, /^Error: --format must be yaml or json/],
    ];
    for (const [args, env, expected] of cases) {
      const result = await run(args, env);
      expect(result.code, args.join(' ')).toBe(1);
      expect(result.stderr, args.join(' ')).toMatch(expected);
    }
    expect(await endpointCount()).toBe(before);
  });

  it('a service that cannot be reached is retried, then a clear error', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const result = await run(['export'], { WEBHOOKS_URL: `http://127.0.0.1:${port}` });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^Error: Giving up after 4 attempts: cannot reach http:\/\/127\.0\.0\.1:\d+\/graphql: ECONNREFUSED\./);
  }, 30_000);

  it('an apply whose answer was lost is retried with its key and applied once', async () => {
    // A loopback proxy that lets the first request reach the service but answers 502 to the CLI.
    let seen = 0;
    const keys: string[] = [];
    const proxy = http.createServer((req, res) => {
      const body: Buffer[] = [];
      req.on('data', (c) => body.push(c));
      req.on('end', () => {
        seen++;
        keys.push(String(req.headers['idempotency-key']));
        const upstream = http.request(`${service.url}/graphql`, { method: 'POST', headers: { ...req.headers, host: new URL(service.url).host } }, (answer) => {
          const chunks: Buffer[] = [];
          answer.on('data', (c) => chunks.push(c));
          answer.on('end', () => {
            if (seen === 1) {
              res.writeHead(502).end('bad gateway');
              return;
            }
            res.writeHead(answer.statusCode ?? 500, answer.headers).end(Buffer.concat(chunks));
          });
        });
        upstream.end(Buffer.concat(body));
      });
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    try {
      const doc = file('lost.yaml', 'endpoints:\n  lost-answer:\n    url: http://127.0.0.1:9/lost\n');
      const result = await run(['apply', '-f', doc, '--secrets-out', 'lost.json'], { WEBHOOKS_URL: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}` });
      expect(result.code, result.stderr).toBe(0);
      expect(seen).toBe(2);
      expect(new Set(keys).size).toBe(1);
      expect(result.stdout).toContain('+ endpoint lost-answer');
      expect(JSON.parse(readFileSync(path.join(dir, 'lost.json'), 'utf8'))['lost-answer']).toMatch(/^whsec_/);
      expect((await service.database.sql`SELECT count(*)::int AS n FROM endpoints WHERE uid = 'lost-answer'`)[0]!.n).toBe(1);
    } finally {
      await new Promise<void>((r) => proxy.close(() => r()));
    }
  }, 30_000);
});
