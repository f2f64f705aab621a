import SchemaBuilder from '@pothos/core';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import RelayPlugin from '@pothos/plugin-relay';
import ComplexityPlugin from '@pothos/plugin-complexity';
import DataloaderPlugin from '@pothos/plugin-dataloader';
import { GraphQLError } from 'graphql';
import { DomainError } from '../domain/errors.js';
import { forbiddenMessage, roleCan, type Capability } from '../domain/roles.js';
import type { GraphQLContext } from './context.js';

/** Limits on what one operation may ask for (SPEC §7 "limited in depth and cost"). */
export const QUERY_LIMITS = { depth: 12, complexity: 20_000, breadth: 250 };

/**
 * The schema builder. It defines no types itself (they live in types/, one per file).
 * Scope-auth comes first so no resolver runs before the caller is checked.
 */
export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  AuthScopes: { can: Capability; enterprise: boolean };
  Scalars: {
    DateTime: { Input: Date; Output: Date | string };
    JSON: { Input: unknown; Output: unknown };
  };
  DefaultFieldNullability: false;
  DefaultInputFieldRequiredness: false;
}>({
  plugins: [ScopeAuthPlugin, RelayPlugin, ComplexityPlugin, DataloaderPlugin],
  defaultFieldNullability: false,
  scopeAuth: {
    // Scope loaders throw DomainErrors so callers get UNAUTHENTICATED / FORBIDDEN /
    // FEATURE_NOT_AVAILABLE with a message saying what to do, not a generic "not authorized".
    authScopes: (ctx) => ({
      can: (capability) => {
        const viewer = ctx.requireViewer();
        if (!roleCan(viewer.role, capability)) throw new DomainError('FORBIDDEN', forbiddenMessage(viewer.role, capability));
        return true;
      },
      enterprise: () => {
        const viewer = ctx.requireViewer();
        if (viewer.plan !== 'enterprise') {
          throw new DomainError(
            'FEATURE_NOT_AVAILABLE',
            `Webhook settings are an enterprise feature; this organization is on the ${viewer.plan} plan.`,
          );
        }
        return true;
      },
    }),
    unauthorizedError: (_parent, _ctx, _info, result) =>
      new GraphQLError(result.message, { extensions: { code: 'FORBIDDEN' } }),
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    nodeQueryOptions: false,
    nodesQueryOptions: false,
  },
  complexity: {
    defaultComplexity: 1,
    defaultListMultiplier: 10,
    limit: { depth: QUERY_LIMITS.depth, complexity: QUERY_LIMITS.complexity, breadth: QUERY_LIMITS.breadth },
  },
});

builder.queryType({});
builder.mutationType({});
