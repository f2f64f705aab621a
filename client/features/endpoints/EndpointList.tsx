import { useMemo, useState } from 'react';
import { useQuery } from 'urql';
import { Link } from '../../shared/router';
import { usePermissions } from '../../shared/session';
import { shortUrl } from '../../shared/format';
import { Badge, Button, DataTable, EmptyState, ErrorMessage, Loading, PageHeader, PlanNotice, type Column } from '../../shared/ui';
import { EndpointHealthCell } from './EndpointHealthCell';
import { HealthBadge, NEEDS_ATTENTION } from './HealthBadge';
import { ENDPOINTS_QUERY, type EndpointSummary } from './queries';
import { useHealthChanges } from './useHealthChanges';

const PAGE = 100;

type StatusFilter = 'all' | 'healthy' | 'attention' | 'inactive';

/** The endpoints page: health at a glance, search and filters, and the way to add one. */
export function EndpointList() {
  const can = usePermissions();
  const [after, setAfter] = useState<string | null>(null);
  const [pages, setPages] = useState<EndpointSummary[][]>([]);
  const [search, setSearch] = useState('');
  const [status, setStatus] = useState<StatusFilter>('all');
  const [label, setLabel] = useState('');
  const [result, reexecute] = useQuery<{ endpoints: { edges: { node: EndpointSummary }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } }>({
    query: ENDPOINTS_QUERY,
    variables: { first: PAGE, after },
  });
  // Breaker changes arrive over the socket; refetching keeps badges honest without polling.
  useHealthChanges(null, () => reexecute({ requestPolicy: 'network-only' }));

  const current = result.data?.endpoints.edges.map((e) => e.node) ?? [];
  const all = useMemo(() => {
    const seen = new Set<string>();
    return [...pages.flat(), ...current].filter((e) => (seen.has(e.id) ? false : (seen.add(e.id), true)));
  }, [pages, current]);
  const labels = useMemo(() => [...new Set(all.flatMap((e) => e.labels))].sort(), [all]);

  const query = search.trim().toLowerCase();
  const rows = all.filter((e) => {
    if (label && !e.labels.includes(label)) return false;
    const health = e.health.status;
    if (status === 'healthy' && health !== 'HEALTHY') return false;
    if (status === 'attention' && !NEEDS_ATTENTION.has(health)) return false;
    if (status === 'inactive' && e.active) return false;
    if (!query) return true;
    return [e.url, e.uid ?? '', e.description, ...e.labels, ...e.eventSubscriptions.map((s) => s.pattern)].some((v) => v.toLowerCase().includes(query));
  });

  const columns: Column<EndpointSummary>[] = [
    {
      key: 'url',
      header: 'Endpoint',
      className: 'cell-main',
      render: (e) => (
        <div className="stack-xs">
          <Link to={`/endpoints/${e.id}`} className="strong" title={e.url}>
            {shortUrl(e.url)}
          </Link>
          {e.uid && (
            <code className="muted small" title="uid: the name integrators give this endpoint">
              {e.uid}
            </code>
          )}
          {e.description && <span className="muted small">{e.description}</span>}
        </div>
      ),
    },
    { key: 'health', header: 'Health', render: (e) => <HealthBadge endpoint={e} /> },
    { key: 'success', header: 'Recent deliveries', render: (e) => <EndpointHealthCell id={e.id} /> },
    {
      key: 'events',
      header: 'Event types',
      render: (e) =>
        e.eventSubscriptions.length ? (
          <span className="chips">
            {e.eventSubscriptions.slice(0, 3).map((s) => (
              <code key={s.pattern} className="chip">
                {s.pattern}
              </code>
            ))}
            {e.eventSubscriptions.length > 3 && <span className="muted small">+{e.eventSubscriptions.length - 3} more</span>}
          </span>
        ) : (
          <span className="muted">None</span>
        ),
    },
    {
      key: 'labels',
      header: 'Labels',
      render: (e) =>
        e.labels.length ? (
          <span className="chips">
            {e.labels.map((l) => (
              <Badge key={l} tone="accent">
                {l}
              </Badge>
            ))}
          </span>
        ) : (
          <span className="muted">—</span>
        ),
    },
  ];

  return (
    <>
      <PageHeader
        title="Endpoints"
        description="URLs that receive your organization's events, and how they are doing."
        actions={
          can.manageSettings ? (
            <Link to="/endpoints/new" className="btn btn--primary">
              New endpoint
            </Link>
          ) : null
        }
      />
      <PlanNotice what="settings" />
      <div className="toolbar" role="search" aria-label="Filter endpoints">
        <label className="toolbar__field">
          <span>Search</span>
          <input type="search" value={search} onChange={(e) => setSearch(e.target.value)} placeholder="URL, uid, description, label or event type" />
        </label>
        <label className="toolbar__field">
          <span>Health</span>
          <select value={status} onChange={(e) => setStatus(e.target.value as StatusFilter)}>
            <option value="all">All</option>
            <option value="healthy">Healthy</option>
            <option value="attention">Needs attention</option>
            <option value="inactive">Paused or disabled</option>
          </select>
        </label>
        <label className="toolbar__field">
          <span>Label</span>
          <select value={label} onChange={(e) => setLabel(e.target.value)}>
            <option value="">Any label</option>
            {labels.map((l) => (
              <option key={l} value={l}>
                {l}
              </option>
            ))}
          </select>
        </label>
      </div>
      {result.error && !result.data && <ErrorMessage error={result.error} onRetry={() => reexecute({ requestPolicy: 'network-only' })} />}
      {result.fetching && all.length === 0 && <Loading label="Loading endpoints…" />}
      {!result.fetching && !result.error && all.length === 0 && (
        <EmptyState
          title="No endpoints yet"
          action={
            can.manageSettings ? (
              <Link to="/endpoints/new" className="btn btn--primary">
                Create the first endpoint
              </Link>
            ) : undefined
          }
        >
          An endpoint is a URL that receives signed webhook requests for the event types it subscribes to.
        </EmptyState>
      )}
      {all.length > 0 && rows.length === 0 && <EmptyState title="No endpoint matches these filters">Clear the search or pick another filter.</EmptyState>}
      {rows.length > 0 && <DataTable caption="Endpoints" columns={columns} rows={rows} rowKey={(e) => e.id} />}
      {result.data?.endpoints.pageInfo.hasNextPage && (
        <div className="load-more">
          <Button
            onClick={() => {
              setPages((p) => [...p, current]);
              setAfter(result.data?.endpoints.pageInfo.endCursor ?? null);
            }}
          >
            Load more endpoints
          </Button>
        </div>
      )}
    </>
  );
}
