import { createContext, useContext, useSyncExternalStore } from 'react';

/** State of the WebSocket that carries live subscriptions. */
export type LiveStatus = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closed';

export interface LiveStatusStore {
  get(): LiveStatus;
  subscribe(listener: () => void): () => void;
}

/** A small observable value, set by the urql client's graphql-ws callbacks. */
export function createLiveStatusStore(): LiveStatusStore & { set(status: LiveStatus): void } {
  let status: LiveStatus = 'idle';
  const listeners = new Set<() => void>();
  return {
    get: () => status,
    set(next) {
      if (next === status) return;
      status = next;
      for (const listener of listeners) listener();
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

const fallback: LiveStatusStore = { get: () => 'idle', subscribe: () => () => {} };
export const LiveStatusContext = createContext<LiveStatusStore>(fallback);

export function useLiveStatus(): LiveStatus {
  const store = useContext(LiveStatusContext);
  return useSyncExternalStore(store.subscribe, store.get, store.get);
}
