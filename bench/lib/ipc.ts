/**
 * Request/response over Node's IPC channel between the bench orchestrator and its child
 * processes (receiver, load generator, ceiling loop, live subscriber). Children are forked with
 * `--import tsx` and the structured-clone serialization, so Maps and typed arrays cross intact.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

type Handler = (arg: any) => unknown;

interface Request {
  id: number;
  method: string;
  arg: unknown;
}
interface Response {
  id: number;
  ok: boolean;
  value?: unknown;
  error?: string;
}

export interface BenchChild {
  name: string;
  pid: number;
  process: ChildProcess;
  call<T = unknown>(method: string, arg?: unknown): Promise<T>;
  /** Fire and forget (e.g. a counter update); never answered. */
  send(method: string, arg?: unknown): void;
  kill(): Promise<void>;
}

/** Forks `bench/procs/<file>` with tsx and resolves once it says it is ready. */
export async function forkChild(name: string, file: string, env: Record<string, string> = {}, execArgv: string[] = []): Promise<BenchChild> {
  const child = fork(path.join(PROJECT_ROOT, 'bench/procs', file), [], {
    cwd: PROJECT_ROOT,
    execArgv: ['--import', 'tsx', ...execArgv],
    env: { ...process.env, ...env },
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.on('exit', (code, signal) => {
    for (const p of pending.values()) p.reject(new Error(`${name} exited (${code ?? signal}) during a call`));
    pending.clear();
  });
  await new Promise<void>((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`${name} exited with ${code} before it was ready`));
    child.once('exit', onExit);
    child.once('message', (m: any) => {
      child.off('exit', onExit);
      if (m && m.ready) resolve();
      else reject(new Error(`${name}: unexpected first message ${JSON.stringify(m)}`));
    });
  });
  child.on('message', (m: Response) => {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.ok) p.resolve(m.value);
    else p.reject(new Error(`${name}.${m.error}`));
  });
  return {
    name,
    pid: child.pid!,
    process: child,
    call<T>(method: string, arg?: unknown): Promise<T> {
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        child.send({ id, method, arg } satisfies Request);
      });
    },
    send(method, arg) {
      if (child.connected) child.send({ id: 0, method, arg } satisfies Request);
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Child side: answers calls with `handlers`, then tells the parent it is ready. */
export function serve(handlers: Record<string, Handler>): void {
  process.on('message', (m: Request) => {
    const handler = handlers[m.method];
    if (m.id === 0) {
      // A notification: no answer expected.
      try {
        void handler?.(m.arg);
      } catch {
        /* ignored */
      }
      return;
    }
    Promise.resolve()
      .then(() => {
        if (!handler) throw new Error(`${m.method}: no such method`);
        return handler(m.arg);
      })
      .then(
        (value) => process.send!({ id: m.id, ok: true, value } satisfies Response),
        (err: unknown) => process.send!({ id: m.id, ok: false, error: `${m.method}: ${(err as Error)?.stack ?? String(err)}` } satisfies Response),
      );
  });
  // The orchestrator going away (crash, Ctrl-C) must not leave load running.
  process.on('disconnect', () => process.exit(0));
  process.send!({ ready: true });
}

/** High-resolution wall-clock milliseconds, comparable across processes on one machine. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}
