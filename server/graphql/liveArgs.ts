import { notFound } from '../domain/errors.js';
import { isIdOf } from '../domain/ids.js';
import type { GraphQLContext } from './context.js';
import type { LivePubSub } from './liveTopics.js';

/** The live topics of this process (subscriptions are served only where the api role runs). */
export function liveOf(ctx: GraphQLContext): LivePubSub {
  if (!ctx.live) throw new Error('live subscriptions are not available in this process (api role not running)');
  return ctx.live;
}

/**
 * An endpoint argument (id or uid): the endpoint's id; another organization's (or a deleted)
 * endpoint is NOT_FOUND.
 */
export async function endpointArg(ctx: GraphQLContext, endpointId: string | number | null | undefined): Promise<string | null> {
  if (endpointId === null || endpointId === undefined) return null;
  const id = String(endpointId);
  if (!isIdOf('endpoint', id)) return ctx.services.endpoints.resolveId(ctx.requireViewer(), id);
  const endpoint = await ctx.loaders.endpoint.load(id);
  if (!endpoint || endpoint.deletedAt) throw notFound('endpoint', id);
  return id;
}
