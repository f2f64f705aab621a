/**
 * What `npm start` prints: JSON lines when stdout is a pipe or a file (log collectors), pretty
 * coloured lines when it is a terminal (a person running it by hand), LOG_FORMAT overriding both.
 * The terminal is a real pseudo-terminal (util-linux `script`).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { freePort, SERVICE_ENTRY } from '../helpers/processes.js';

let database: TestDatabase;
const masterKey = randomBytes(32).toString('base64');

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database?.drop());

/** Starts the service (through a pseudo-terminal when `tty`), returns what it printed up to "listening". */
async function startAndCollect(env: Record<string, string>, tty: boolean): Promise<string> {
  const port = await freePort();
  const childEnv = { ...process.env, DATABASE_URL: database.url, WEBHOOKS_MASTER_KEY: masterKey, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env };
  const command = [process.execPath, ...SERVICE_ENTRY].map((a) => `'${a}'`).join(' ');
  const child = tty
    ? spawn('script', ['-qfec', command, '/dev/null'], { env: childEnv, stdio: ['pipe', 'pipe', 'pipe'] })
    : spawn(process.execPath, SERVICE_ENTRY, { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (c) => (output += String(c)));
  child.stderr!.on('data', (c) => (output += String(c)));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    const deadline = Date.now() + 60_000;
    while (!/listening/.test(output)) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`no "listening" line:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await fetch(`http://127.0.0.1:${port}/healthz`);
    return output;
  } finally {
    // Under `script` the service is a grandchild: SIGTERM reaches it through the terminal's hang-up.
    child.kill('SIGTERM');
    await exited;
  }
}

describe('log format', () => {
  it('JSON lines when stdout is not a terminal', async () => {
    const output = await startAndCollect({}, false);
    const lines = output.split('\n').filter((l) => l.startsWith('{'));
    expect(lines.length).toBeGreaterThan(0);
    const listening = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'listening');
    expect(listening).toMatchObject({ level: 30, roles: 'api,worker' });
    // The process entry sets the worker's heap growth (server/heapPolicy.ts) before starting.
    const heap = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'worker heap growth');
    expect(heap).toMatchObject({ heap: 'applied', heapGrowthPercent: 30 });
    expect(output).not.toContain('\u001b[');
  }, 90_000);

  it('pretty, coloured lines on a terminal; LOG_FORMAT=json keeps JSON there', async () => {
    const pretty = await startAndCollect({}, true);
    expect(pretty).toMatch(/\[\d\d:\d\d:\d\d\.\d{3}\] .*INFO.*: .*listening/);
    expect(pretty).toContain('\u001b[');
    expect(pretty).not.toMatch(/"level":30/);
    const forced = await startAndCollect({ LOG_FORMAT: 'json' }, true);
    expect(forced).toMatch(/"level":30.*"msg":"listening"/);
  }, 120_000);
});
