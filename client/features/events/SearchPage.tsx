import { useEffect, useState } from 'react';
import { useClient, type CombinedError } from 'urql';
import { errorCode } from '../../shared/errors';
import { Link, navigate, useLocation } from '../../shared/router';
import { EmptyState, ErrorMessage, Loading, PageHeader } from '../../shared/ui';
import { candidatesFor, type Candidate } from './lookup';
import { DELIVERY_EXISTS_QUERY, EVENT_BY_KEY_QUERY, EVENT_EXISTS_QUERY } from './queries';

type Outcome = { state: 'searching' } | { state: 'none' } | { state: 'failed'; error: CombinedError };

/** Resolves a search (`/search?q=`) to the delivery or event it names and opens that page. */
export function SearchPage() {
  const { search } = useLocation();
  const query = search.get('q') ?? '';
  const client = useClient();
  const [outcome, setOutcome] = useState<Outcome>({ state: 'searching' });

  useEffect(() => {
    let cancelled = false;
    setOutcome({ state: 'searching' });
    const find = async (c: Candidate): Promise<string | null | CombinedError> => {
      const options = { requestPolicy: 'network-only' as const };
      const result =
        c.kind === 'delivery'
          ? await client.query<{ delivery: { id: string } }>(DELIVERY_EXISTS_QUERY, { id: c.id }, options).toPromise()
          : c.kind === 'event'
            ? await client.query<{ event: { id: string } }>(EVENT_EXISTS_QUERY, { id: c.id }, options).toPromise()
            : await client.query<{ events: { edges: { node: { id: string } }[] } }>(EVENT_BY_KEY_QUERY, { key: c.key }, options).toPromise();
      if (result.error) return errorCode(result.error) === 'NOT_FOUND' ? null : result.error;
      const data = result.data as { delivery?: { id: string }; event?: { id: string }; events?: { edges: { node: { id: string } }[] } } | undefined;
      if (data?.delivery) return `/deliveries/${encodeURIComponent(data.delivery.id)}`;
      if (data?.event) return `/events/${encodeURIComponent(data.event.id)}`;
      const found = data?.events?.edges[0]?.node.id;
      return found ? `/events/${encodeURIComponent(found)}` : null;
    };
    void (async () => {
      for (const candidate of candidatesFor(query)) {
        const target = await find(candidate);
        if (cancelled) return;
        if (typeof target === 'string') {
          navigate(target, { replace: true });
          return;
        }
        if (target) {
          setOutcome({ state: 'failed', error: target });
          return;
        }
      }
      if (!cancelled) setOutcome({ state: 'none' });
    })();
    return () => {
      cancelled = true;
    };
  }, [client, query]);

  return (
    <>
      <PageHeader title="Find an event" description={query ? <>Looking for <code className="break">{query}</code></> : undefined} />
      {outcome.state === 'searching' && query && <Loading label="Searching…" />}
      {outcome.state === 'failed' && <ErrorMessage error={outcome.error} />}
      {(outcome.state === 'none' || !query) && (
        <EmptyState title={query ? 'Nothing matches this id' : 'Type an id in the search box'} action={<Link to="/deliveries">Browse deliveries</Link>}>
          <p>The search box takes one of these, exactly:</p>
          <ul className="plain-list">
            <li>
              an <strong>event id</strong> such as <code>evt_01J…</code>: the <code>webhook-id</code> header and the <code>id</code> of the body a receiver got;
            </li>
            <li>
              the <strong>eventId</strong> the platform published the event with (for example <code>run_8841:failed</code>);
            </li>
            <li>
              a <strong>delivery id</strong> such as <code>dlv_01J…</code>.
            </li>
          </ul>
        </EmptyState>
      )}
    </>
  );
}
