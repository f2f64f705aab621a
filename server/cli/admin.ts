import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config.js';
import { connectDatabase, runMigrations, startEmbeddedPostgres } from '../db/client.js';
import { createEventTypesRepo } from '../db/repos/eventTypes.js';
import { createJobQueue } from '../engine/jobQueue.js';
import { createPublisher } from '../engine/publish.js';
import { DomainError } from '../domain/errors.js';
import type { ApiKeyRole } from '../domain/roles.js';
import { newId } from '../crypto/random.js';
import { createOrganizationService, PLANS, ROLES } from '../services/organizations.js';

const USAGE = `Usage:
  npm run admin -- create-org --name NAME [--plan ${PLANS.join('|')}]
  npm run admin -- create-api-key --org ORG_ID --role ${ROLES.join('|')} [--name NAME]

Each command prints one JSON line, e.g. {"orgId": "org_...", "apiKey": "whk_..."}.
The key is shown only once. Uses DATABASE_URL, or the embedded Postgres in .data/ when unset.`;

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
    options: { name: { type: 'string' }, plan: { type: 'string' }, org: { type: 'string' }, role: { type: 'string' } },
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
  const organizations = createOrganizationService({ database, publisher: createPublisher({ database, jobQueue: createJobQueue(database.sql) }) });
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
