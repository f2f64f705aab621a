import { configDefaults, defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * `npm run test:faults`: the fault-injection suite (test/faults), fast and slow parts. The fast
 * files also run in `npm test`; the `*.slow.test.ts` ones (SIGKILLed workers, a restarted
 * database, sustained load) only here. Files run one at a time: they inject faults into the
 * machine's shared resources (CPU, Postgres connections) and measure what survives.
 */
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['test/faults/**/*.test.ts'],
    exclude: [...configDefaults.exclude],
    testTimeout: 180_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
