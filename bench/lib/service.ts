/**
 * The service under test as separate OS processes running what `npm start` runs (`node
 * dist/main.js`, built first when a source changed), either one process with both roles
 * (`combined`) or an api process and a worker process (`split`).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { PROJECT_ROOT } from './ipc.js';

export type Topology = 'combined' | 'split';

export interface ServiceProc {
  role: string;
  pid: number;
  port: number;
  url: string;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

export interface Service {
  topology: Topology;
  apiUrl: string;
  adminKey: string;
  orgId: string;
  masterKey: string;
  /** WEBHOOKS_PLATFORM_TOKEN of the run (organization provisioning). */
  platformToken: string;
  processes: ServiceProc[];
  /** The process(es) running the worker role. */
  workerPids(): number[];
  /** The process(es) running the api role without the worker (none in the combined topology). */
  apiOnlyPids(): number[];
  allPids(): number[];
  stop(): Promise<void>;
}

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
 * The entry `npm start` runs in `root`, built first when stale. A checkout from before the
 * compiled start (A/B runs against an older commit with --server-root) runs its sources with tsx.
 */
function serviceEntry(root: string): string[] {
  const builder = path.join(root, 'scripts', 'buildServer.mjs');
  if (!existsSync(builder)) return ['--import', 'tsx', 'server/main.ts'];
  execFileSync(process.execPath, [builder, '--if-stale'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  return ['dist/main.js'];
}

async function spawnRole(role: string, env: Record<string, string>, nodeArgs: string[], root: string): Promise<ServiceProc> {
  const port = await freePort();
  const child = spawn(process.execPath, [...nodeArgs, ...serviceEntry(root)], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LOG_LEVEL: 'warn', HOST: '127.0.0.1', PORT: String(port), WEBHOOKS_ROLES: role, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c) => (output += String(c)));
  child.stderr!.on('data', (c) => (output += String(c)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`service (${role}) exited with ${child.exitCode}:\n${output}`);
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.status === 200) break;
    } catch {
      /* not yet listening */
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`service (${role}) not ready after 60 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    role,
    pid: child.pid!,
    port,
    url,
    child,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Starts the service on `databaseUrl` (empty: it migrates and creates the default org, whose
 * admin key it prints once). `workerNodeArgs` (e.g. --cpu-prof) go to every service process.
 */
export async function startService(options: {
  databaseUrl: string;
  topology: Topology;
  env?: Record<string, string>;
  workerNodeArgs?: string[];
  /** Another checkout to run the service from (A/B comparisons of engine changes). */
  serverRoot?: string;
}): Promise<Service> {
  const root = options.serverRoot ?? PROJECT_ROOT;
  const masterKey = randomBytes(32).toString('base64');
  const platformToken = randomBytes(32).toString('base64url');
  const env = {
    DATABASE_URL: options.databaseUrl,
    WEBHOOKS_MASTER_KEY: masterKey,
    WEBHOOKS_PLATFORM_TOKEN: platformToken,
    WEBHOOKS_ALLOWED_CIDRS: '127.0.0.0/8',
    WEBHOOKS_ALLOW_HTTP: 'true',
    ...options.env,
  };
  const processes: ServiceProc[] = [];
  const first = await spawnRole(options.topology === 'combined' ? 'api,worker' : 'api', env, options.workerNodeArgs ?? [], root);
  processes.push(first);
  const key = /admin key:\s+(whk_\S+)/.exec(first.output());
  const org = /orgId:\s+(\S+)/.exec(first.output());
  if (!key || !org) {
    await first.stop();
    throw new Error(`the service did not print the bootstrap admin key (database not fresh?):\n${first.output()}`);
  }
  if (options.topology === 'split') processes.push(await spawnRole('worker', env, options.workerNodeArgs ?? [], root));
  return {
    topology: options.topology,
    apiUrl: first.url,
    adminKey: key[1]!,
    orgId: org[1]!,
    masterKey,
    platformToken,
    processes,
    workerPids: () => processes.filter((p) => p.role.includes('worker')).map((p) => p.pid),
    apiOnlyPids: () => processes.filter((p) => !p.role.includes('worker')).map((p) => p.pid),
    allPids: () => processes.map((p) => p.pid),
    async stop() {
      for (const p of [...processes].reverse()) await p.stop();
    },
  };
}
