import { useState } from 'react';
import { useQuery } from 'urql';
import { EndpointSelect } from '../../shared/EndpointSelect';
import { RANGE_PRESETS, type RangeKey } from '../../shared/timeRange';
import { Button } from '../../shared/ui';
import { DELIVERY_STATUSES, EVENT_TYPE_OPTIONS_QUERY, type DeliveryStatus } from './queries';
import type { useDeliveryFilter } from './useDeliveryFilter';

const STATUS_LABELS: Record<DeliveryStatus, string> = { PENDING: 'Pending', SUCCEEDED: 'Succeeded', DEAD: 'Dead', CANCELLED: 'Cancelled' };

/**
 * Endpoint, status, event type and time window (all sent to the API as DeliveryFilter). The window
 * is a preset (last hour, 24 hours, 7 days) or a custom from/to, checked before anything is sent.
 */
export function DeliveryFilters({ state, fixedStatuses }: { state: ReturnType<typeof useDeliveryFilter>; fixedStatuses: boolean }) {
  const [types] = useQuery<{ eventTypes: { edges: { node: { id: string; name: string } }[] } }>({ query: EVENT_TYPE_OPTIONS_QUERY });
  const { raw, problem } = state;
  // "Custom" shows the two inputs before either has a value.
  const [customOpen, setCustomOpen] = useState(false);
  const range: RangeKey | '' = raw.range ?? (customOpen ? 'custom' : '');
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
        <span>Created</span>
        <select
          aria-label="Created"
          value={range}
          onChange={(e) => {
            const next = (e.target.value || null) as RangeKey | null;
            setCustomOpen(next === 'custom');
            state.setRange(next);
          }}
        >
          <option value="">Any time</option>
          {RANGE_PRESETS.map((p) => (
            <option key={p.key} value={p.key}>
              {p.label}
            </option>
          ))}
          <option value="custom">Custom range…</option>
        </select>
      </label>
      {range === 'custom' && (
        <>
          <DateField label="From" value={raw.since} onChange={(since) => state.set({ since, range: null })} error={problem?.field === 'since' ? problem.message : null} />
          <DateField label="To" value={raw.until} onChange={(until) => state.set({ until, range: null })} error={problem?.field === 'until' ? problem.message : null} />
        </>
      )}
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
        <Button
          size="sm"
          variant="ghost"
          onClick={() => {
            setCustomOpen(false);
            state.clear();
          }}
        >
          Clear filters
        </Button>
      )}
    </div>
  );
}

function DateField({ label, value, onChange, error }: { label: string; value: string; onChange: (value: string | null) => void; error: string | null }) {
  const id = `delivery-filter-${label.toLowerCase()}`;
  return (
    <div className={`toolbar__field${error ? ' field--invalid' : ''}`}>
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        type="datetime-local"
        value={value}
        onChange={(e) => onChange(e.target.value || null)}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${id}-error` : undefined}
      />
      {error && (
        <p className="field__error" id={`${id}-error`} role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
