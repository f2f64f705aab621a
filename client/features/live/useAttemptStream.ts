import { useEffect, useRef, useState } from 'react';
import { useClient, type CombinedError } from 'urql';
import { ATTEMPTS_SUBSCRIPTION, type DeliveryStatus, type LiveAttempt } from './queries';
import { emptyStream, flush, receive, type StreamState } from './attemptBuffer';

const FLUSH_MS = 150;

/**
 * Subscribes to deliveryAttempts (re-subscribing when the server-side filters change) and keeps
 * the newest `limit` attempts. Arrivals are applied in small batches so a busy organization
 * does not re-render the table for every attempt.
 */
export function useAttemptStream(options: { endpointId?: string | null; statuses?: DeliveryStatus[] | null; paused?: boolean; limit?: number; bufferLimit?: number }) {
  const { endpointId = null, statuses = null, paused = false, limit = 500, bufferLimit = 1000 } = options;
  const client = useClient();
  const [state, setState] = useState<StreamState<LiveAttempt>>(emptyStream);
  const [error, setError] = useState<CombinedError | null>(null);
  const pending = useRef<LiveAttempt[]>([]);
  const pausedRef = useRef(paused);
  pausedRef.current = paused;
  const statusKey = statuses?.length ? [...statuses].sort().join(',') : '';

  useEffect(() => {
    setError(null);
    let timer: ReturnType<typeof setTimeout> | null = null;
    const apply = (): void => {
      timer = null;
      const items = pending.current;
      pending.current = [];
      setState((s) => receive(s, items, pausedRef.current, limit, bufferLimit));
    };
    const variables = { endpointId, statuses: statusKey ? statusKey.split(',') : null };
    const { unsubscribe } = client.subscription<{ deliveryAttempts: LiveAttempt }>(ATTEMPTS_SUBSCRIPTION, variables).subscribe((result) => {
      if (result.error) {
        setError(result.error);
        return;
      }
      if (!result.data) return;
      setError(null);
      pending.current.push(result.data.deliveryAttempts);
      if (!timer) timer = setTimeout(apply, FLUSH_MS);
    });
    return () => {
      unsubscribe();
      if (timer) clearTimeout(timer);
      pending.current = [];
    };
  }, [client, endpointId, statusKey, limit, bufferLimit]);

  // Resuming shows what was buffered.
  useEffect(() => {
    if (!paused) setState((s) => (s.buffer.length ? flush(s, limit) : s));
  }, [paused, limit]);

  return {
    attempts: state.rows,
    buffered: state.buffer.length,
    dropped: state.dropped,
    received: state.received,
    error,
    clear: () => setState(emptyStream()),
  };
}
