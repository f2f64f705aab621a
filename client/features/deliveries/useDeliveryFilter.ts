import { fromLocalInput } from '../../shared/format';
import { useSearchParams } from '../../shared/router';
import type { DeliveryFilter, DeliveryStatus } from './queries';
import { parseStatuses } from './replay';

/**
 * The deliveries filter lives in the URL (?endpoint=&status=DEAD,PENDING&type=&since=&until=),
 * so a filtered view can be linked and survives a reload.
 */
export function useDeliveryFilter(fixedStatuses?: DeliveryStatus[]) {
  const [params, setParams] = useSearchParams();
  const statuses = fixedStatuses ?? parseStatuses(params.get('status'));
  const raw = {
    endpointId: params.get('endpoint') ?? '',
    statuses,
    eventType: params.get('type') ?? '',
    since: params.get('since') ?? '',
    until: params.get('until') ?? '',
  };
  const filter: DeliveryFilter = {
    endpointId: raw.endpointId || null,
    statuses: statuses.length ? statuses : null,
    eventType: raw.eventType || null,
    since: fromLocalInput(raw.since),
    until: fromLocalInput(raw.until),
  };
  return {
    raw,
    filter,
    set: setParams,
    setStatuses: (next: DeliveryStatus[]) => setParams({ status: next.length ? next.join(',') : null }),
    clear: () => setParams({ endpoint: null, status: fixedStatuses ? undefined : null, type: null, since: null, until: null }),
    active: Boolean(raw.endpointId || (!fixedStatuses && statuses.length) || raw.eventType || raw.since || raw.until),
  };
}
