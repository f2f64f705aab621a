import { useQuery } from 'urql';
import { EndpointSelect } from '../../shared/EndpointSelect';
import { Button } from '../../shared/ui';
import { DELIVERY_STATUSES, EVENT_TYPE_OPTIONS_QUERY, type DeliveryStatus } from './queries';
import type { useDeliveryFilter } from './useDeliveryFilter';

const STATUS_LABELS: Record<DeliveryStatus, string> = { PENDING: 'Pending', SUCCEEDED: 'Succeeded', DEAD: 'Dead', CANCELLED: 'Cancelled' };

/** Endpoint, status, event type and time window (all sent to the API as DeliveryFilter). */
export function DeliveryFilters({ state, fixedStatuses }: { state: ReturnType<typeof useDeliveryFilter>; fixedStatuses: boolean }) {
  const [types] = useQuery<{ eventTypes: { edges: { node: { id: string; name: string } }[] } }>({ query: EVENT_TYPE_OPTIONS_QUERY });
  const { raw } = state;
  const toggleStatus = (s: DeliveryStatus): void => {
    state.setStatuses(raw.statuses.includes(s) ? raw.statuses.filter((x) => x !== s) : [...raw.statuses, s]);
  };
  return (
    <div className="toolbar" role="search" aria-label="Filter deliveries">
      <EndpointSelect value={raw.endpointId} onChange={(endpoint) => state.set({ endpoint })} />
      <label className="toolbar__field">
        <span>Event type</span>
        <select value={raw.eventType} onChange={(e) => state.set({ type: e.target.value || null })}>
          <option value="">All event types</option>
          {types.data?.eventTypes.edges.map(({ node }) => (
            <option key={node.id} value={node.name}>
              {node.name}
            </option>
          ))}
        </select>
      </label>
      <label className="toolbar__field">
        <span>Created after</span>
        <input type="datetime-local" value={raw.since} onChange={(e) => state.set({ since: e.target.value || null })} />
      </label>
      <label className="toolbar__field">
        <span>Created before</span>
        <input type="datetime-local" value={raw.until} onChange={(e) => state.set({ until: e.target.value || null })} />
      </label>
      {!fixedStatuses && (
        <fieldset className="toolbar__field toolbar__statuses">
          <legend>Status</legend>
          {DELIVERY_STATUSES.map((s) => (
            <label key={s} className="checkbox-inline">
              <input type="checkbox" checked={raw.statuses.includes(s)} onChange={() => toggleStatus(s)} />
              {STATUS_LABELS[s]}
            </label>
          ))}
        </fieldset>
      )}
      {state.active && (
        <Button size="sm" variant="ghost" onClick={state.clear}>
          Clear filters
        </Button>
      )}
    </div>
  );
}
