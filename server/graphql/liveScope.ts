import type { Viewer } from '../services/auth.js';
import type { GraphQLContext } from './context.js';

/** How long a label-scoped stream trusts what it learned about an endpoint's labels. */
const VISIBILITY_TTL_MS = 5_000;

/**
 * A live stream as a label-scoped portal session may see it: messages about endpoints outside its
 * labels are skipped. Whether an endpoint is visible is read once and then trusted for a few
 * seconds (labels rarely change), so a busy stream costs a query per endpoint, not per message.
 * Unscoped viewers get the stream as it is.
 */
export function scopeLiveStream<T>(ctx: GraphQLContext, viewer: Viewer, source: AsyncIterableIterator<T>, endpointOf: (item: T) => string): AsyncIterableIterator<T> {
  if (!viewer.portal?.labels) return source;
  const known = new Map<string, { visible: boolean; atMs: number }>();
  const visible = async (endpointId: string): Promise<boolean> => {
    const hit = known.get(endpointId);
    if (hit && Date.now() - hit.atMs < VISIBILITY_TTL_MS) return hit.visible;
    const answer = await ctx.services.scope.seesId(viewer, endpointId);
    known.set(endpointId, { visible: answer, atMs: Date.now() });
    return answer;
  };
  const iterator: AsyncIterableIterator<T> = {
    async next() {
      for (;;) {
        const result = await source.next();
        if (result.done || (await visible(endpointOf(result.value)))) return result;
      }
    },
    return: (value?: unknown) => source.return?.(value) ?? Promise.resolve({ done: true, value: undefined }),
    throw: (err?: unknown) => source.throw?.(err) ?? Promise.reject(err),
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}
