import { useEffect, useMemo, useState } from 'react';
import { useClient, useQuery } from 'urql';
import { errorMessage } from '../../shared/errors';
import { formatCount, shortUrl } from '../../shared/format';
import { rememberDeliveryList } from '../../shared/listLocation';
import { Link, useLocation } from '../../shared/router';
import { usePermissions } from '../../shared/session';
import { AttemptOutcomeBadge, Badge, Button, DataTable, DeliveryStatusBadge, EmptyState, ErrorMessage, Loading, Notice, PageHeader, PlanNotice, Time, WaitingState, type Column } from '../../shared/ui';
import { BulkReplay } from './BulkReplay';
import { DeliveryFilters } from './DeliveryFilters';
import { ExportButtons } from './ExportButtons';
import { DELIVERIES_QUERY, RETRY_DELIVERY, type DeliveryRow } from './queries';
import { isReplayable } from './replay';
import { useDeliveryFilter } from './useDeliveryFilter';

const PAGE = 50;

/** Deliveries (or only dead letters) with filters, selection, retry and bulk replay. */
export function DeliveryList({ deadLetters = false }: { deadLetters?: boolean }) {
  const can = usePermissions();
  const client = useClient();
  const filterState = useDeliveryFilter(deadLetters ? ['DEAD'] : undefined);
  const filterKey = JSON.stringify(filterState.filter);
  const [after, setAfter] = useState<string | null>(null);
  const [earlier, setEarlier] = useState<DeliveryRow[]>([]);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [message, setMessage] = useState<{ tone: 'success' | 'warning'; text: string } | null>(null);
  const [retrying, setRetrying] = useState(false);
  const { pathname, search } = useLocation();
  const query = search.toString();
  const here = query ? `${pathname}?${query}` : pathname;
  // "← Deliveries" on a delivery or event page comes back here, filters included.
  useEffect(() => rememberDeliveryList(here), [here]);

  // A new filter starts from the first page with nothing selected.
  useEffect(() => {
    setAfter(null);
    setEarlier([]);
    setSelected(new Set());
  }, [filterKey]);

  const [result, reexecute] = useQuery<{ deliveries: { edges: { node: DeliveryRow }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } }>({
    query: DELIVERIES_QUERY,
    variables: { filter: filterState.filter, first: PAGE, after },
    // A reversed window is explained next to its field instead of being sent.
    pause: filterState.problem !== null,
  });
  const current = result.data?.deliveries.edges.map((e) => e.node) ?? [];
  const rows = useMemo(() => {
    const seen = new Set<string>();
    return [...earlier, ...current].filter((d) => (seen.has(d.id) ? false : (seen.add(d.id), true)));
  }, [earlier, current]);
  const refresh = (): void => reexecute({ requestPolicy: 'network-only' });

  const retrySelected = async (): Promise<void> => {
    setRetrying(true);
    setMessage(null);
    const failures: string[] = [];
    let ok = 0;
    for (const id of selected) {
      const outcome = await client.mutation(RETRY_DELIVERY, { id }).toPromise();
      if (outcome.error) failures.push(`${id}: ${errorMessage(outcome.error)}`);
      else ok++;
    }
    setRetrying(false);
    setSelected(new Set());
    setMessage(
      failures.length
        ? { tone: 'warning', text: `${ok} ${ok === 1 ? 'delivery was' : 'deliveries were'} retried; ${failures.length} could not be: ${failures.join(' ')}` }
        : { tone: 'success', text: `${ok} ${ok === 1 ? 'delivery is' : 'deliveries are'} being retried now.` },
    );
    refresh();
  };

  const allColumns: Column<DeliveryRow>[] = [
    { key: 'status', header: 'Status', render: (d) => <DeliveryStatusBadge status={d.status} /> },
    {
      key: 'event',
      header: 'Event type',
      className: 'cell-main',
      render: (d) => (
        <span className="stack-xs">
          <Link to={`/deliveries/${d.id}`} aria-label={`Delivery ${d.id} (${d.eventType})`}>
            <code>{d.eventType}</code>
          </Link>
          {d.isTest && <Badge tone="info">test</Badge>}
        </span>
      ),
    },
    {
      key: 'endpoint',
      header: 'Endpoint',
      render: (d) => (
        <Link to={`/endpoints/${d.endpoint.id}`} title={d.endpoint.url}>
          {shortUrl(d.endpoint.url, 40)}
        </Link>
      ),
    },
    {
      key: 'last',
      header: 'Last attempt',
      render: (d) =>
        d.lastAttempt ? (
          <span className="stack-xs" title={d.lastAttempt.errorMessage ?? undefined}>
            <AttemptOutcomeBadge succeeded={d.lastAttempt.succeeded} responseStatus={d.lastAttempt.responseStatus} errorClass={d.lastAttempt.errorClass} />
            <span className="muted small">
              <Time value={d.lastAttemptAt} />
            </span>
          </span>
        ) : (
          <span className="muted">Not attempted yet</span>
        ),
    },
    { key: 'attempts', header: 'Attempts', className: 'num', render: (d) => d.attemptCount },
    {
      key: 'next',
      header: 'Next attempt',
      render: (d) => <WaitingState delivery={d} endpoint={d.endpoint} />,
    },
    { key: 'created', header: 'Created', render: (d) => <Time value={d.createdAt} /> },
  ];
  // Dead letters have no next attempt.
  const columns = allColumns.filter((c) => !(deadLetters && c.key === 'next'));

  return (
    <>
      <PageHeader
        title={deadLetters ? 'Dead letters' : 'Deliveries'}
        description={
          deadLetters
            ? 'Deliveries that ran out of attempts. Fix the receiver, then replay them.'
            : 'One delivery per event and endpoint: its attempts, status and next retry.'
        }
        actions={
          <>
            <ExportButtons filter={filterState.filter} disabled={filterState.problem !== null} />
            {can.operate ? (
              <BulkReplay
                filter={filterState.filter}
                onDone={(n) => (setMessage({ tone: 'success', text: `${formatCount(n)} ${n === 1 ? 'delivery was' : 'deliveries were'} re-armed for delivery now.` }), refresh())}
              />
            ) : null}
          </>
        }
      />
      <PlanNotice what="operations" />
      <DeliveryFilters state={filterState} fixedStatuses={deadLetters} />
      {message && (
        <Notice tone={message.tone === 'success' ? 'success' : 'warning'}>
          <span>{message.text}</span>
        </Notice>
      )}
      {can.operate && selected.size > 0 && (
        <div className="selection-bar" role="region" aria-label="Selection">
          <span>
            {selected.size} selected
          </span>
          <Button variant="primary" size="sm" onClick={retrySelected} busy={retrying} busyLabel="Retrying…">
            Retry selected ({selected.size})
          </Button>
          <Button size="sm" variant="ghost" onClick={() => setSelected(new Set())}>
            Clear selection
          </Button>
        </div>
      )}
      {result.error && !result.data && <ErrorMessage error={result.error} onRetry={refresh} />}
      {result.fetching && rows.length === 0 && <Loading label="Loading deliveries…" />}
      {!result.fetching && !result.error && !filterState.problem && rows.length === 0 && (
        <EmptyState title={deadLetters ? 'No dead letters' : 'No deliveries'}>
          {filterState.active
            ? 'Nothing matches these filters.'
            : deadLetters
              ? 'Every delivery either succeeded or is still being retried.'
              : 'Deliveries appear when events are published to subscribed endpoints.'}
        </EmptyState>
      )}
      {rows.length > 0 && (
        <DataTable
          caption={deadLetters ? 'Dead letters' : 'Deliveries'}
          columns={columns}
          rows={rows}
          rowKey={(d) => d.id}
          rowClassName={(d) => (d.status === 'DEAD' ? 'row--failed' : undefined)}
          selection={
            can.operate
              ? { selected, onChange: setSelected, canSelect: isReplayable, label: (d) => `Select delivery ${d.id} (${d.eventType})` }
              : undefined
          }
        />
      )}
      {result.data?.deliveries.pageInfo.hasNextPage && (
        <div className="load-more">
          <Button
            onClick={() => {
              setEarlier(rows);
              setAfter(result.data?.deliveries.pageInfo.endCursor ?? null);
            }}
          >
            Load more
          </Button>
        </div>
      )}
    </>
  );
}
