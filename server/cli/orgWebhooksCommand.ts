/**
 * `org-webhooks`: keeps an organization's webhooks in a repository. `apply` makes the service
 * match a YAML or JSON document (a dry run exits 2 when something would change, so a pipeline can
 * gate on drift); `export` prints the current configuration as such a document.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { Document, isScalar, visit } from 'yaml';
import { CliError, readDocumentFile } from './documentFile.js';
import { hasChanges, newSecrets, renderPlan, type PlanResult } from './planReport.js';
import { ApiRequestError, apiOptionsFromEnv, createWebhooksApi, type ApiOptions } from './webhooksApi.js';

export const USAGE = `Usage:
  org-webhooks apply -f FILE [--dry-run] [--prune] [--secrets-out FILE] [--idempotency-key KEY] [--json]
  org-webhooks export [--format yaml|json] [-o FILE]

Environment: WEBHOOKS_URL (the service, e.g. https://webhooks.example.com) and WEBHOOKS_API_KEY
(an admin key; export also works with an operator or viewer key).

apply    makes the organization's endpoints and custom event types what FILE (YAML or JSON; "-" for
         standard input) describes, in one transaction. \${NAME} in its values is replaced by the
         environment variable NAME (secrets stay out of the repository). --prune deletes endpoints
         (and deprecates event types) the file leaves out. --dry-run only shows the plan.
         New HMAC signing secrets go to --secrets-out FILE (JSON, mode 600), or to a terminal.
export   prints the current configuration as a document that applies as a no-op; secrets in it
         are {unchanged: true} references.

Exit status: 0 done (or a dry run with nothing to change), 2 a dry run with changes, 1 an error
(nothing was changed). docs/integrators.md walks through a CI pipeline.`;

const APPLY = `mutation($document: JSON!, $dryRun: Boolean, $prune: Boolean) {
  applyConfiguration(document: $document, dryRun: $dryRun, prune: $prune) {
    applied dryRun
    changes { kind key action changedFields fields { field before after secret } id secret }
    unmanaged { kind key }
  } }`;
const EXPORT = `query { exportConfiguration }`;

/** Where the command writes: replaced in tests. */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  isTerminal: boolean;
  writeFile(path: string, text: string): void;
}

export const processIo: CliIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  isTerminal: Boolean(process.stdout.isTTY),
  writeFile: (path, text) => writeFileSync(path, text, { mode: 0o600 }),
};

/** Runs one command; returns the exit status. */
export async function runCli(argv: string[], env: NodeJS.ProcessEnv, io: CliIo = processIo, api: Partial<ApiOptions> = {}): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    io.out(USAGE);
    return command ? 0 : 1;
  }
  try {
    if (command === 'apply') return await apply(rest, env, io, api);
    if (command === 'export') return await exportCommand(rest, env, io, api);
    throw new CliError(`Unknown command "${command}".\n${USAGE}`);
  } catch (err) {
    report(err, io);
    return 1;
  }
}

function options(args: string[], spec: ParseArgsConfig['options']) {
  try {
    return parseArgs({ args, options: spec, strict: true, allowPositionals: false }).values as Record<string, string | boolean | undefined>;
  } catch (err) {
    throw new CliError(`${(err as Error).message}\n${USAGE}`);
  }
}

async function apply(args: string[], env: NodeJS.ProcessEnv, io: CliIo, overrides: Partial<ApiOptions>): Promise<number> {
  const o = options(args, {
    file: { type: 'string', short: 'f' },
    'dry-run': { type: 'boolean' },
    prune: { type: 'boolean' },
    'secrets-out': { type: 'string' },
    'idempotency-key': { type: 'string' },
    json: { type: 'boolean' },
  });
  if (typeof o.file !== 'string') throw new CliError(`apply needs -f FILE (the document to apply).\n${USAGE}`);
  const document = readDocumentFile(o.file, env);
  const settings = { ...apiOptionsFromEnv(env), ...overrides };
  // One key for this run and its retries: a retry after a timeout is applied once.
  const key = typeof o['idempotency-key'] === 'string' ? o['idempotency-key'] : randomUUID();
  const dryRun = o['dry-run'] === true;
  const { applyConfiguration: plan } = await createWebhooksApi(settings).request<{ applyConfiguration: PlanResult }>(
    APPLY,
    { document, dryRun, prune: o.prune === true },
    key,
  );
  const secrets = newSecrets(plan);
  if (o.json) {
    io.out(JSON.stringify({ ...plan, changes: plan.changes.map((c) => ({ ...c, secret: c.secret ? '(see --secrets-out)' : null })) }, null, 2));
  } else {
    io.out(`${dryRun ? 'Plan (dry run)' : 'Applied'} for ${settings.url}:`);
    for (const line of renderPlan(plan)) io.out(line);
  }
  handleSecrets(secrets, typeof o['secrets-out'] === 'string' ? o['secrets-out'] : null, key, io);
  return dryRun && hasChanges(plan) ? 2 : 0;
}

/** New signing secrets are shown once: to a file, or to a person at a terminal, never to a CI log. */
function handleSecrets(secrets: Record<string, string>, file: string | null, key: string, io: CliIo): void {
  const count = Object.keys(secrets).length;
  if (count === 0) return;
  if (file) {
    io.writeFile(file, `${JSON.stringify(secrets, null, 2)}\n`);
    io.out(`New signing secret${count === 1 ? '' : 's'} of ${Object.keys(secrets).join(', ')} written to ${file}.`);
  } else if (io.isTerminal) {
    io.out('New signing secrets (shown once: store them in the receivers now):');
    for (const [endpoint, secret] of Object.entries(secrets)) io.out(`  ${endpoint}: ${secret}`);
  } else {
    io.err(
      `${count} endpoint${count === 1 ? '' : 's'} (${Object.keys(secrets).join(', ')}) got a new signing secret, not printed to a non-terminal. ` +
        `Within 24 hours, run the same command with --idempotency-key ${key} --secrets-out FILE to receive ${count === 1 ? 'it' : 'them'}.`,
    );
  }
}

async function exportCommand(args: string[], env: NodeJS.ProcessEnv, io: CliIo, overrides: Partial<ApiOptions>): Promise<number> {
  const o = options(args, { format: { type: 'string' }, output: { type: 'string', short: 'o' } });
  const format = o.format ?? 'yaml';
  if (format !== 'yaml' && format !== 'json') throw new CliError(`--format must be yaml or json (got ${String(format)}).`);
  const settings = { ...apiOptionsFromEnv(env), ...overrides };
  const { exportConfiguration: document } = await createWebhooksApi(settings).request<{ exportConfiguration: unknown }>(EXPORT, {});
  const text =
    format === 'json'
      ? `${JSON.stringify(document, null, 2)}\n`
      : `# Exported from ${settings.url} on ${new Date().toISOString()}.\n` +
        '# Secrets are {unchanged: true} (keeps the current value); write ${ENV_VAR} to set one from the environment.\n' +
        toYaml(document);
  if (typeof o.output === 'string') {
    io.writeFile(o.output, text);
    io.out(`Wrote ${o.output}.`);
  } else {
    io.out(text.replace(/\n$/, ''));
  }
  return 0;
}

/** YAML with each secret reference on one line: `Authorization: { unchanged: true }`. */
export function toYaml(value: unknown): string {
  const doc = new Document(value);
  visit(doc, {
    Map(_key, node) {
      const [only] = node.items;
      if (node.items.length === 1 && isScalar(only?.key) && only.key.value === 'unchanged') node.flow = true;
    },
  });
  return doc.toString({ lineWidth: 0 });
}

function report(err: unknown, io: CliIo): void {
  if (err instanceof ApiRequestError) {
    const problems = err.errors[0]?.extensions?.problems;
    if (err.code === 'BAD_USER_INPUT' && problems?.length) {
      io.err(`Error: the document has ${problems.length} problem${problems.length === 1 ? '' : 's'}; nothing was changed.`);
      for (const p of problems) {
        // Messages start with their object's path ("endpoints.billing: url must ..."), which the field already says.
        const at = p.message.indexOf(': ');
        const message = at > 0 && p.field.startsWith(p.message.slice(0, at)) ? p.message.slice(at + 2) : p.message;
        io.err(`  ${p.field}: ${message}`);
      }
      return;
    }
    io.err(`Error${err.code ? ` (${err.code})` : ''}: ${err.message}`);
    return;
  }
  if (err instanceof CliError) {
    io.err(`Error: ${err.message}`);
    return;
  }
  io.err(`Error: ${(err as Error)?.message ?? String(err)}`);
}
