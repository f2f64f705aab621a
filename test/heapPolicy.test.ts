import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { applyHeapGrowthPolicy } from '../server/heapPolicy.js';
import { loadConfig } from '../server/config.js';

const run = promisify(execFile);
const CHURN = path.join(import.meta.dirname, 'fixtures/heap/churn.ts');

interface ChurnResult {
  outcome: string;
  majorGcs: number;
  peakHeapMb: number;
}

async function churn(policyPercent: number, nodeArgs: string[] = []): Promise<ChurnResult> {
  const { stdout } = await run(process.execPath, [...nodeArgs, '--import', 'tsx', CHURN], {
    env: { ...process.env, HEAP_POLICY: String(policyPercent), NODE_OPTIONS: '' },
    timeout: 120_000,
  });
  return JSON.parse(stdout.trim().split('\n').pop()!) as ChurnResult;
}

describe('worker heap growth policy', () => {
  it('defaults to 30% and refuses values outside 0–300 with the variable named', () => {
    expect(loadConfig({}).workerHeapGrowthPercent).toBe(30);
    expect(loadConfig({ WEBHOOKS_WORKER_HEAP_GROWTH_PERCENT: '0' }).workerHeapGrowthPercent).toBe(0);
    expect(() => loadConfig({ WEBHOOKS_WORKER_HEAP_GROWTH_PERCENT: '301' })).toThrow(/WEBHOOKS_WORKER_HEAP_GROWTH_PERCENT.*at most 300/);
    expect(() => loadConfig({ WEBHOOKS_WORKER_HEAP_GROWTH_PERCENT: 'lots' })).toThrow(/WEBHOOKS_WORKER_HEAP_GROWTH_PERCENT.*whole number/);
  });

  it('leaves V8 alone at 0 and when the operator gave the flag on the command line', () => {
    expect(applyHeapGrowthPolicy(0, [])).toBe('disabled');
    expect(applyHeapGrowthPolicy(30, ['--heap-growing-percent=80'])).toBe('operator-flag');
    expect(applyHeapGrowthPolicy(30, ['--heap_growing_percent', '80'])).toBe('operator-flag');
  });

  // Same allocations in each child; only the growth factor differs. Factors are fixed numbers
  // (1.3 against 4.0), not V8's own timing-dependent choice, so the comparison is stable.
  it('set at start-up, collects the old generation before it grows far past the live set', async () => {
    const [tight, loose] = await Promise.all([churn(30), churn(300)]);
    expect(tight.outcome).toBe('applied');
    expect(loose.outcome).toBe('applied');
    expect(tight.majorGcs).toBeGreaterThan(2 * loose.majorGcs);
    expect(tight.peakHeapMb).toBeLessThan(loose.peakHeapMb);
  }, 180_000);

  it('a flag on the command line wins over the configured percent', async () => {
    const [given, loose] = await Promise.all([churn(30, ['--heap-growing-percent=300']), churn(300)]);
    expect(given.outcome).toBe('operator-flag');
    expect(given.majorGcs).toBeLessThanOrEqual(loose.majorGcs + 2);
  }, 180_000);
});
