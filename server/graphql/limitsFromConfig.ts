import type { Config } from '../config.js';
import { requestBodyLimits } from './bodyLimit.js';
import { DEFAULT_QUERY_LIMITS } from './queryLimits.js';
import type { GraphQLServerDeps } from './server.js';

/** The GraphQL server's hostile-input bounds from the parsed configuration. */
export function graphqlLimitsFromConfig(config: Config): Partial<GraphQLServerDeps> {
  const l = config.limits;
  return {
    bodyLimits: requestBodyLimits(l.maxBatchBytes),
    queryLimits: {
      ...DEFAULT_QUERY_LIMITS,
      tokens: l.graphqlMaxTokens,
      aliases: l.graphqlMaxAliases,
      depth: l.graphqlMaxDepth,
      directives: l.graphqlMaxDirectives,
      complexity: l.graphqlMaxCost,
    },
    corsOrigins: config.corsOrigins,
    publicUrl: config.publicUrl,
    trustProxyHops: config.trustProxyHops,
    subscriptionsPerSocket: l.subscriptionsPerSocket,
    subscriptionsPerOrganization: l.subscriptionsPerOrganization,
  };
}
