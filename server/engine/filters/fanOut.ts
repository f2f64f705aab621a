import type { EventAcceptor, FilterableEvent } from './endpointFilters.js';

/** An endpoint as the fan-out sees it: its patterns and, when it has one, its content filter. */
export interface FanOutEndpoint {
  id: string;
  matches: (type: string) => boolean;
  accepts?: EventAcceptor;
}

/** Longest stretch of filter evaluation before other work on the event loop gets a turn. */
const SLICE_MS = 5;

/**
 * The (event, endpoint) pairs a batch fans out to: the endpoint subscribes to the event's type
 * and its filter, if any, is true. Filters are bounded one by one (domain/contentFilter.ts), but
 * one organization may have a thousand filtered endpoints and publish a thousand events at once:
 * evaluation then yields to the event loop every few milliseconds, so that organization's
 * publish takes longer and nobody else's request waits behind it. Without filters the loop is
 * synchronous, as it always was.
 */
export async function fanOut<E extends FilterableEvent>(events: readonly E[], endpoints: readonly FanOutEndpoint[], publishedAtMs: number): Promise<{ event: E; endpointId: string }[]> {
  const pairs: { event: E; endpointId: string }[] = [];
  // One evaluation may take most of a millisecond (a macro at its budget): the clock is read
  // after each one (tens of nanoseconds).
  let sliceStart = performance.now();
  for (const event of events) {
    for (const endpoint of endpoints) {
      if (!endpoint.matches(event.type) || endpoint.id === event.excludeEndpointId) continue;
      if (endpoint.accepts) {
        const accepted = endpoint.accepts(event, publishedAtMs);
        if (performance.now() - sliceStart > SLICE_MS) {
          await new Promise((resolve) => setImmediate(resolve));
          sliceStart = performance.now();
        }
        if (!accepted) continue;
      }
      pairs.push({ event, endpointId: endpoint.id });
    }
  }
  return pairs;
}
