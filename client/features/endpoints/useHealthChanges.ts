import { useEffect, useRef } from 'react';
import { useClient } from 'urql';
import { useLiveStatus } from '../../shared/liveStatus';
import { ENDPOINT_HEALTH_SUBSCRIPTION, type HealthEvent } from './queries';

/**
 * Calls `onChange` for every breaker or enable/disable change (of one endpoint, or all), and with
 * null whenever the live socket (re)connects: a change made between the page's read and the
 * subscription reaching the server, or while the socket was down, is never pushed, so the caller
 * reads again then.
 */
export function useHealthChanges(endpointId: string | null, onChange: (event: HealthEvent | null) => void): void {
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

  const live = useLiveStatus();
  const wasConnected = useRef(live === 'connected');
  useEffect(() => {
    const connected = live === 'connected';
    if (connected && !wasConnected.current) callback.current(null);
    wasConnected.current = connected;
  }, [live]);
}
