import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { TEST_ENV } from './service.js';

export interface ServiceProcess {
  process: ChildProcess;
  port: number;
  url: string;
  /** Everything the process wrote, for failure messages. */
  output(): string;
  /** Resolves once /healthz answers (and, for workers, /readyz says ready). */
  ready(timeoutMs?: number): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/** A free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/**
 * What `npm start` runs: the compiled service (test/helpers/globalSetup.ts builds dist/ first
 * when a source changed). Tests that spawn the service run this, never the TypeScript sources.
 */
export const SERVICE_ENTRY = ['dist/main.js'];
/** What `npm run admin` runs. */
export const ADMIN_ENTRY = ['dist/cli/admin.js'];

/**
 * Runs the service as a separate OS process (a real second worker or api), with the test
 * environment plus `env`. Used where a test needs another process: scale-out, SIGKILL.
 */
export async function spawnServiceProcess(env: Record<string, string>): Promise<ServiceProcess> {
  const port = await freePort();
  let output = '';
  const child = spawn(process.execPath, SERVICE_ENTRY, {
    env: { ...process.env, ...TEST_ENV, LOG_LEVEL: 'warn', PORT: String(port), HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  return {
    process: child,
    port,
    url,
    output: () => output,
    async ready(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (child.exitCode !== null) throw new Error(`process exited with ${child.exitCode}:\n${output}`);
        try {
          const res = await fetch(`${url}/readyz`);
          if (res.ok) return;
        } catch {
          // not listening yet
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`process not ready after ${timeoutMs} ms:\n${output}`);
    },
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      // A graceful stop that hangs must not hang the test run: force it after 20 s.
      const forced = setTimeout(() => child.kill('SIGKILL'), 20_000);
      try {
        return await exited;
      } finally {
        clearTimeout(forced);
      }
    },
  };
}
