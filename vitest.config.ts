import { createRequire } from 'node:module';
import { configDefaults, defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // graphql 16 has no "exports": Node (which loads Pothos and yoga) picks its CommonJS build,
    // Vite (which loads our sources) its .mjs build, and two copies fail graphql's realm check.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    // Slow fault-injection suites (crash, database restart, load) run in `npm run test:faults` only.
    exclude: [...configDefaults.exclude, '**/*.slow.test.ts'],
    globalSetup: ['test/helpers/globalSetup.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests each get their own database, so files run side by side.
    fileParallelism: true,
  },
});
