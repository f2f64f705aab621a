import { useEffect, useRef } from 'react';
import { useClient } from 'urql';
import { ENDPOINT_HEALTH_SUBSCRIPTION, type HealthEvent } from './queries';

/** Calls `onChange` for every breaker or enable/disable change (of one endpoint, or all). */
export function useHealthChanges(endpointId: string | null, onChange: (event: HealthEvent) => void): void {
  const client = useClient();
  const callback = useRef(onChange);
  callback.current = onChange;
  useEffect(() => {
    const { unsubscribe } = client
      .subscription<{ endpointHealth: HealthEvent }>(ENDPOINT_HEALTH_SUBSCRIPTION, { endpointId })
      .subscribe((result) => {
        if (result.data) callback.current(result.data.endpointHealth);
      });
    return unsubscribe;
  }, [client, endpointId]);
}
