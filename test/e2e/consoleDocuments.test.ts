/**
 * The console's contract with the API and its layout rules, without a browser:
 * - every GraphQL document in client/features/* /queries.ts and client/shared/queries.ts is valid
 *   against the server's schema
 *   (a renamed field fails here, not in a user's browser);
 * - features import only from client/shared (DESIGN.md convention 8), never each other or the server.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse, validate, type GraphQLSchema } from 'graphql';
import { buildSchema } from '../../server/graphql/schema.js';
import { QUERY_LIMITS } from '../../server/graphql/builder.js';
import { ROOT } from '../helpers/browser.js';

const CLIENT = path.join(ROOT, 'client');
const FEATURES = path.join(CLIENT, 'features');

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? filesUnder(full) : /\.tsx?$/.test(name) ? [full] : [];
  });
}

async function documents(): Promise<{ file: string; name: string; source: string }[]> {
  const out: { file: string; name: string; source: string }[] = [];
  const files = readdirSync(FEATURES)
    .filter((feature) => statSync(path.join(FEATURES, feature)).isDirectory())
    .map((feature) => path.join(FEATURES, feature, 'queries.ts'));
  files.push(path.join(CLIENT, 'shared', 'queries.ts'));
  for (const file of files) {
    // A computed specifier: loaded by Vite at run time, not followed by the server's tsconfig.
    const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    for (const [name, value] of Object.entries(mod)) {
      if (typeof value === 'string' && /^\s*(query|mutation|subscription)\b/.test(value)) out.push({ file: path.relative(ROOT, file), name, source: value });
    }
  }
  return out;
}

describe('console GraphQL documents', () => {
  it('are all valid against the schema', async () => {
    const schema: GraphQLSchema = buildSchema();
    const docs = await documents();
    expect(docs.length).toBeGreaterThan(25);
    const failures = docs.flatMap(({ file, name, source }) =>
      validate(schema, parse(source)).map((e) => `${file} ${name}: ${e.message}`),
    );
    expect(failures).toEqual([]);
  });

  it('stay within the depth limit', async () => {
    const depth = (source: string): number => {
      let max = 0;
      let level = 0;
      for (const ch of source.replace(/\([^)]*\)/g, '')) {
        if (ch === '{') max = Math.max(max, ++level);
        if (ch === '}') level--;
      }
      return max;
    };
    for (const { name, source } of await documents()) expect(depth(source), name).toBeLessThanOrEqual(QUERY_LIMITS.depth);
  });

  it('cover every subscription and the stats query the console relies on', async () => {
    const all = (await documents()).map((d) => d.source).join('\n');
    for (const field of ['deliveryAttempts(', 'endpointHealth(', 'deliveryStats(', 'replayDeliveries(', 'retryDelivery(', 'rotateSigningKey(', 'sendTestEvent(']) {
      expect(all).toContain(field);
    }
  });
});

describe('console layout', () => {
  it('features import only from shared/ (and packages), never another feature or the server', () => {
    const offences: string[] = [];
    for (const file of filesUnder(FEATURES)) {
      const feature = path.relative(FEATURES, file).split(path.sep)[0]!;
      for (const [, spec] of readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) {
        if (!spec!.startsWith('.')) continue;
        const target = path.resolve(path.dirname(file), spec!);
        const inOwnFeature = target.startsWith(path.join(FEATURES, feature) + path.sep);
        const inShared = target.startsWith(path.join(CLIENT, 'shared') + path.sep);
        if (!inOwnFeature && !inShared) offences.push(`${path.relative(ROOT, file)} imports ${spec}`);
      }
    }
    expect(offences).toEqual([]);
  });

  it('shared/ imports no feature', () => {
    const offences = filesUnder(path.join(CLIENT, 'shared')).filter((file) => /from\s+['"][./]*features\//.test(readFileSync(file, 'utf8')));
    expect(offences).toEqual([]);
  });
});
