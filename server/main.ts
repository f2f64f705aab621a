import './productionDefaults.js';
import { ConfigError, loadConfig } from './config.js';
import { createProcessLogger } from './logger.js';
import { applyHeapGrowthPolicy } from './heapPolicy.js';
import { startService } from './service.js';

let config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
  throw err;
}

const format = config.logFormat === 'auto' ? (process.stdout.isTTY ? 'pretty' : 'json') : config.logFormat;
const log = await createProcessLogger(config.logLevel, format);
// A process policy, so here rather than in startService (tests run services inside vitest).
if (config.roles.has('worker')) {
  const heap = applyHeapGrowthPolicy(config.workerHeapGrowthPercent);
  log.info({ heapGrowthPercent: config.workerHeapGrowthPercent, heap }, 'worker heap growth');
}

try {
  const service = await startService(config, log);
  if (service.bootstrapKey) {
    // Printed once, on the first start of an empty database; it is not stored anywhere readable.
    process.stdout.write(
      [
        '',
        'Created the "default" organization (enterprise plan).',
        `  orgId:     ${service.bootstrapKey.orgId}`,
        `  admin key: ${service.bootstrapKey.apiKey}`,
        'This key is shown only now: store it. Create more with `npm run admin -- create-api-key`.',
        '',
      ].join('\n'),
    );
  }
  if (config.roles.has('api')) {
    process.stdout.write(`Console and GraphQL at http://localhost:${service.port}/ (GraphiQL at /graphql)\n`);
  }

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const timer = setTimeout(() => process.exit(1), 30_000);
    timer.unref();
    await service.stop();
    process.exit(0);
  };
  // SIGHUP: the terminal that started it closed; stop as cleanly as on the other two.
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => void shutdown(signal));
} catch (err) {
  log.fatal({ err }, 'could not start');
  process.exit(1);
}
