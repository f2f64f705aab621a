import { useMemo } from 'react';
import { useSearchParams } from '../../shared/router';
import { isRangePreset, resolveRange, type RangeKey } from '../../shared/timeRange';
import type { DeliveryFilter, DeliveryStatus } from './queries';
import { parseStatuses } from './replay';

/**
 * The deliveries filter lives in the URL (?endpoint=&status=DEAD,PENDING&type=&range=24h, or
 * since=&until= for a custom window), so a filtered view can be linked and survives a reload.
 * A preset window ends now: "now" is taken again whenever the URL changes. A reversed custom
 * window is not sent: `problem` says what to fix, next to the field.
 */
export function useDeliveryFilter(fixedStatuses?: DeliveryStatus[]) {
  const [params, setParams] = useSearchParams();
  const statuses = fixedStatuses ?? parseStatuses(params.get('status'));
  const rangeParam = params.get('range');
  const range: RangeKey | null = isRangePreset(rangeParam) ? rangeParam : params.get('since') || params.get('until') ? 'custom' : null;
  const raw = {
    endpointId: params.get('endpoint') ?? '',
    statuses,
    eventType: params.get('type') ?? '',
    range,
    since: params.get('since') ?? '',
    until: params.get('until') ?? '',
  };
  const query = params.toString();
  // Recomputed when the URL changes (not on every render: the query variables must stay stable).
  const nowMs = useMemo(() => Date.now(), [query]);
  const window = resolveRange(range, { since: raw.since, until: raw.until }, nowMs);
  const filter: DeliveryFilter = {
    endpointId: raw.endpointId || null,
    statuses: statuses.length ? statuses : null,
    eventType: raw.eventType || null,
    since: window.ok && window.sinceMs !== null ? new Date(window.sinceMs).toISOString() : null,
    until: window.ok && window.untilMs !== null ? new Date(window.untilMs).toISOString() : null,
  };
  return {
    raw,
    filter,
    /** A window that cannot be sent (reversed, invalid): the field and what to do. */
    problem: window.ok ? null : { field: window.field, message: window.message },
    set: setParams,
    setStatuses: (next: DeliveryStatus[]) => setParams({ status: next.length ? next.join(',') : null }),
    setRange: (next: RangeKey | null) =>
      setParams(next === 'custom' ? { range: null } : { range: next, since: null, until: null }),
    clear: () => setParams({ endpoint: null, status: fixedStatuses ? undefined : null, type: null, range: null, since: null, until: null }),
    active: Boolean(raw.endpointId || (!fixedStatuses && statuses.length) || raw.eventType || range),
  };
}
