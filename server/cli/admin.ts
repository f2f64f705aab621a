import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config.js';
import { connectDatabase, runMigrations, startEmbeddedPostgres } from '../db/client.js';
import { createEventTypesRepo } from '../db/repos/eventTypes.js';
import { createWakeSender } from '../db/notifications.js';
import { createDeliveryJobs } from '../db/repos/deliveryJobs.js';
import { createPublisher } from '../engine/publish.js';
import { DomainError } from '../domain/errors.js';
import type { ApiKeyRole } from '../domain/roles.js';
import { newId } from '../crypto/random.js';
import { createOrganizationService, PLANS, ROLES } from '../services/organizations.js';
import { createSecretBox, masterKeyId } from '../crypto/secretBox.js';
import { reencryptSecrets, sealedKeyIds } from '../crypto/reencrypt.js';

const USAGE = `Usage:
  npm run admin -- create-org --name NAME [--plan ${PLANS.join('|')}]
  npm run admin -- create-api-key --org ORG_ID --role ${ROLES.join('|')} [--name NAME]
  npm run admin -- rotate-master-key [--batch-size N]

Each command prints one JSON line, e.g. {"orgId": "org_...", "apiKey": "whk_..."}.
The key is shown only once. Uses DATABASE_URL, or the embedded Postgres in .data/ when unset.

rotate-master-key re-encrypts every stored secret (signing keys, mTLS client keys) sealed with a
key of WEBHOOKS_PREVIOUS_MASTER_KEYS under WEBHOOKS_MASTER_KEY, in batches; running it again is
harmless. It exits with status 2 if some value opens with none of the keys given.`;

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

const [command, ...rest] = process.argv.slice(2);
if (!command || command === '--help' || command === 'help') {
  process.stdout.write(`${USAGE}\n`);
  process.exit(command ? 0 : 1);
}

let parsed;
try {
  parsed = parseArgs({
    args: rest,
    options: {
      name: { type: 'string' },
      plan: { type: 'string' },
      org: { type: 'string' },
      role: { type: 'string' },
      'batch-size': { type: 'string' },
    },
    strict: true,
  }).values;
} catch (err) {
  fail(`${(err as Error).message}\n\n${USAGE}`);
}

let config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) fail(err.message);
  throw err;
}

const embedded = config.databaseUrl
  ? null
  : await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPostgresPort });
const database = connectDatabase({ url: config.databaseUrl ?? embedded!.url, poolSize: 2, applicationName: 'org-webhooks:admin' });

try {
  await runMigrations(database);
  await createEventTypesRepo(database.db).seedBuiltIns(() => newId('eventType'));
  const publisher = createPublisher({
    database,
    jobs: createDeliveryJobs(database.sql),
    wake: createWakeSender(database.signalSql, (err) => process.stderr.write(`could not wake the workers: ${err.message}\n`)),
  });
  const organizations = createOrganizationService({ database, publisher });
  if (command === 'create-org') {
    if (!parsed.name) fail(`create-org needs --name.\n\n${USAGE}`);
    const { org, apiKey } = await organizations.createOrganization({ name: parsed.name, plan: parsed.plan });
    process.stdout.write(`${JSON.stringify({ orgId: org.id, name: org.name, plan: org.plan, apiKey })}\n`);
  } else if (command === 'create-api-key') {
    if (!parsed.org || !parsed.role) fail(`create-api-key needs --org and --role.\n\n${USAGE}`);
    const role = parsed.role as ApiKeyRole;
    if (!ROLES.includes(role)) fail(`Unknown role "${parsed.role}" (expected ${ROLES.join(', ')}).`);
    const org = await organizations.findOrganization(parsed.org);
    if (!org) fail(`No organization with id "${parsed.org}".`);
    const { apiKey, key } = await organizations.createApiKey(org.id, role, parsed.name ?? `${role} key (CLI)`);
    process.stdout.write(`${JSON.stringify({ orgId: org.id, apiKeyId: apiKey.id, role, apiKey: key })}\n`);
  } else if (command === 'rotate-master-key') {
    if (!config.masterKey) fail('rotate-master-key needs WEBHOOKS_MASTER_KEY (the new key) and WEBHOOKS_PREVIOUS_MASTER_KEYS (the old ones).');
    const batchSize = parsed['batch-size'] === undefined ? 500 : Number(parsed['batch-size']);
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 100_000) fail('--batch-size must be a whole number from 1 to 100000.');
    const box = createSecretBox(config.masterKey, config.previousMasterKeys);
    const report = await reencryptSecrets(database.sql, box, { batchSize });
    const remaining = Object.fromEntries(await sealedKeyIds(database.sql));
    // Key ids only (a hash prefix); never a key or a secret.
    process.stdout.write(
      `${JSON.stringify({
        keyId: report.keyId,
        previousKeyIds: config.previousMasterKeys.map(masterKeyId),
        reencrypted: report.reencrypted,
        failed: report.columns.flatMap((c) => c.failed.map((f) => ({ table: c.table, id: f.id, keyId: f.keyId, reason: f.reason }))),
        sealedValuesByKeyId: remaining,
      })}\n`,
    );
    if (report.failed > 0) {
      process.stderr.write(
        `${report.failed} value(s) could not be opened with WEBHOOKS_MASTER_KEY or WEBHOOKS_PREVIOUS_MASTER_KEYS; add the key they were sealed with (see keyId) and run again.\n`,
      );
      process.exitCode = 2;
    }
  } else {
    fail(`Unknown command "${command}".\n\n${USAGE}`);
  }
} catch (err) {
  if (err instanceof DomainError) fail(err.message);
  throw err;
} finally {
  await database.close();
  await embedded?.stop();
}
