/**
 * What a search query can name: a delivery id (dlv_…), an event id (evt_…, the webhook-id header),
 * or the eventId a publisher gave (any text). Pure (unit-tested).
 */
const ID = /^(dlv|evt)_[0-9A-HJKMNP-TV-Z]{26}$/;

export type Candidate = { kind: 'delivery'; id: string } | { kind: 'event'; id: string } | { kind: 'eventId'; key: string };

/** Lookups to try, in order, for a query typed into the search box. */
export function candidatesFor(query: string): Candidate[] {
  const q = query.trim();
  if (!q) return [];
  const upper = q.length === 30 ? `${q.slice(0, 4).toLowerCase()}${q.slice(4).toUpperCase()}` : q;
  const match = ID.exec(upper);
  // A publisher's own eventId may look like anything, even like one of our ids: it is always tried.
  if (match?.[1] === 'dlv') return [{ kind: 'delivery', id: upper }, { kind: 'eventId', key: q }];
  if (match?.[1] === 'evt') return [{ kind: 'event', id: upper }, { kind: 'eventId', key: q }];
  return [{ kind: 'eventId', key: q }];
}
