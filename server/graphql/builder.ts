import SchemaBuilder from '@pothos/core';
import ScopeAuthPlugin, { AuthScopeFailureType, type AuthFailure } from '@pothos/plugin-scope-auth';
import RelayPlugin from '@pothos/plugin-relay';
import ComplexityPlugin from '@pothos/plugin-complexity';
import DataloaderPlugin from '@pothos/plugin-dataloader';
import { DomainError } from '../domain/errors.js';
import { forbiddenMessage, roleCan, type Capability } from '../domain/roles.js';
import type { GraphQLContext } from './context.js';
import { DEFAULT_QUERY_LIMITS } from './queryLimits.js';
import { fieldComplexity } from './costs.js';

/**
 * Limits on what one operation may ask for (SPEC §7 "limited in depth and cost"): the defaults
 * of server/graphql/queryLimits.ts, which checks them before execution (configurable there).
 */
export const QUERY_LIMITS = { depth: DEFAULT_QUERY_LIMITS.depth, complexity: DEFAULT_QUERY_LIMITS.complexity, breadth: DEFAULT_QUERY_LIMITS.breadth };

/**
 * The schema builder. It defines no types itself (they live in types/, one per file).
 * Scope-auth comes first so no resolver runs before the caller is checked.
 */
export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  AuthScopes: { can: Capability; enterprise: boolean; platform: boolean; apiKey: boolean };
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
    // Subscriptions are checked once when they start, not as each event resolves: a caller
    // without the right gets FORBIDDEN at once instead of an open stream of errors.
    authorizeOnSubscribe: true,
    // Missing or rejected credentials throw UNAUTHENTICATED straight from the scope loader.
    // A known caller lacking a right gets `false`, so fields can mask instead of failing
    // (unauthorizedResolver), and unauthorizedError turns the failure into FORBIDDEN or
    // FEATURE_NOT_AVAILABLE with a message saying what to do.
    authScopes: (ctx) => ({
      can: (capability) => roleCan(ctx.requireViewer().role, capability),
      enterprise: () => ctx.requireViewer().plan === 'enterprise',
      // Throws UNAUTHENTICATED without credentials and FORBIDDEN for an organization's key.
      platform: () => ctx.requirePlatform() !== null,
      // Organization-wide administration (API keys, the event catalog, publishing) is for API
      // keys: an embedded portal session manages endpoints only (services/portalAuth.ts).
      apiKey: () => !ctx.requireViewer().portal,
    }),
    unauthorizedError: (_parent, ctx, _info, result) => authorizationError(ctx, result.failure, result.message),
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
    fieldComplexity,
    // The plugin only annotates fields here; the cost is checked before execution, with the
    // request's variables, by queryLimits.ts (the plugin's own check ran inside root resolvers,
    // after authentication, and its result was per root field).
    disabled: true,
  },
});

/** The most specific error for a failed scope check. */
function authorizationError(ctx: GraphQLContext, failure: AuthFailure, fallback: string): Error {
  const viewer = ctx.requireViewer();
  const scopes = flatten(failure);
  // Role before plan: a viewer of a starter org is told about its role first.
  const capability = scopes.find((f) => f.scope === 'can')?.parameter as Capability | undefined;
  if (capability) return new DomainError('FORBIDDEN', forbiddenMessage(viewer.role, capability));
  if (scopes.some((f) => f.scope === 'apiKey')) {
    return new DomainError('FORBIDDEN', 'A portal session manages endpoints only; API keys, event types, portal sessions and publishing need an API key.');
  }
  if (scopes.some((f) => f.scope === 'enterprise')) {
    return new DomainError(
      'FEATURE_NOT_AVAILABLE',
      `Webhook settings are an enterprise feature; this organization is on the ${viewer.plan} plan.`,
    );
  }
  return new DomainError('FORBIDDEN', fallback);
}

function flatten(failure: AuthFailure): { scope: string; parameter: unknown }[] {
  if (failure.kind === AuthScopeFailureType.AuthScope) return [{ scope: failure.scope, parameter: failure.parameter }];
  if (failure.kind === AuthScopeFailureType.AllAuthScopes || failure.kind === AuthScopeFailureType.AnyAuthScopes) {
    return failure.failures.flatMap(flatten);
  }
  return [];
}

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});
