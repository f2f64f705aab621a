import { spawn } from 'node:child_process';
import { describe, expect, inject, it } from 'vitest';

const KEYS = [
  'deliveriesPerSecond',
  'bareCeilingPerSecond',
  'ratioToCeiling',
  'latencyP50Ms',
  'latencyP99Ms',
  'liveP99Ms',
  'isolationRatio',
  'retryLateP99Ms',
  'workerRssMb',
  'backlogRatio',
  'ingestPerSecond',
  'endpointCreatePerSecond',
  'fanoutP99Ms',
  'thinSpreadRatio',
  'workerRssMbAt100k',
  'publishP50Ratio',
  'historyQueryP99Ms',
  'historyStatsP99Ms',
  'historyPurgeDayMs',
  'historyThroughputRatio',
];

/** Runs `npm run bench -- --smoke` (a few seconds, tiny load) against the test Postgres. */
function runSmoke(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--smoke'], {
      env: { ...process.env, DATABASE_URL: inject('adminDatabaseUrl') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += String(c)));
    child.stderr.on('data', (c) => (stderr += String(c)));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

// The harness works end to end and ends with the JSON line; the figures of a tiny run on a
// shared machine mean nothing, so no value is checked (SPEC §9: targets are never timed tests).
describe('npm run bench -- --smoke', () => {
  it('runs every scenario and prints one final JSON line with every figure', { timeout: 180_000 }, async () => {
    const { code, stdout, stderr } = await runSmoke();
    const lines = stdout.trim().split('\n');
    const last = lines.at(-1) ?? '';
    let figures: Record<string, unknown>;
    try {
      figures = JSON.parse(last) as Record<string, unknown>;
    } catch {
      throw new Error(`the last line is not JSON: ${last}\n--- stdout\n${stdout}\n--- stderr\n${stderr.slice(-4000)}`);
    }
    expect(Object.keys(figures).sort()).toEqual([...KEYS].sort());
    for (const key of KEYS) expect(figures[key] === null || typeof figures[key] === 'number', key).toBe(true);
    expect(code, stderr.slice(-4000)).toBe(0);
    // Every scenario ran: each has its table.
    for (const title of ['## Throughput', '## System vs bare ceiling', '## Isolation', '## Latency', '## Retry timing', '## Ingest', '## Backlog', '## History']) {
      expect(stdout).toContain(title);
    }
    // isolationRatio's reference is measured on both sides of the isolation run (machine drift).
    expect(stdout).toContain('healthy alone, again right after');
    // Ingest says where its CPU went per event, publishing's own share apart from delivering's.
    expect(stdout).toContain('## Ingest: CPU µs per accepted event');
  });
});
