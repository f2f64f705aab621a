/**
 * docs/integrators.md stays true: its GraphQL examples validate against the schema, and its
 * document example reads (YAML, ${ENV} substitution) and plans without a problem.
 */
import { readFileSync } from 'node:fs';
import { parse as parseGraphQL, validate } from 'graphql';
import { describe, expect, it } from 'vitest';
import { parseDocumentText, substituteEnvironment } from '../../server/cli/documentFile.js';
import { planConfiguration } from '../../server/domain/configuration/plan.js';
import { DEFAULT_ENDPOINT_SETTINGS } from '../../server/domain/endpointSettings.js';
import { BUILT_IN_EVENT_TYPES } from '../../server/domain/eventCatalog.js';
import type { InputProblem } from '../../server/domain/errors.js';
import { buildSchema } from '../../server/graphql/schema.js';

const doc = readFileSync(new URL('../../docs/integrators.md', import.meta.url), 'utf8');

describe('docs/integrators.md', () => {
  it('has GraphQL examples that validate against the schema', () => {
    const blocks = [...doc.matchAll(/```graphql\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(blocks.length).toBeGreaterThanOrEqual(3);
    for (const block of blocks) expect(validate(buildSchema(), parseGraphQL(block)).map((e) => e.message), block).toEqual([]);
  });

  it('has a document example that reads and plans without a problem', () => {
    const block = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) => b.startsWith('version: 1'));
    expect(block).toBeDefined();
    const document = substituteEnvironment(parseDocumentText(block!, 'integrators.md'), { BILLING_TOKEN: 't', BILLING_CLIENT_KEY: 'k' });
    // The example keeps X-Team "unchanged": it describes an endpoint that exists with that header.
    const existing = {
      id: 'ep_01M8CKN2KBRTPZ3VX9J7G7V2GG',
      uid: 'billing-alerts',
      patterns: [],
      settings: { ...structuredClone(DEFAULT_ENDPOINT_SETTINGS), url: 'https://billing.example.com/hooks', headers: [{ name: 'X-Team', value: 'billing' }] },
    };
    const problems: InputProblem[] = [];
    const plan = planConfiguration(document, { endpoints: [existing], eventTypes: [], builtInEventTypes: BUILT_IN_EVENT_TYPES.map((t) => t.name) }, { prune: false }, problems);
    expect(problems).toEqual([]);
    expect(plan.changes.map((c) => `${c.kind}:${c.key}:${c.action}`)).toEqual(['EVENT_TYPE:acme.invoice.paid:CREATE', 'ENDPOINT:billing-alerts:UPDATE']);
  });
});
