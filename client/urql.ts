import { createElement, useEffect, useMemo, type ReactNode } from 'react';
import { Client, Provider, cacheExchange, fetchExchange, mapExchange, subscriptionExchange } from 'urql';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import { createLiveStatusStore, LiveStatusContext } from './shared/liveStatus';

/** Close code the server uses for a missing or rejected API key on the WebSocket. */
const WS_UNAUTHORIZED = 4401;

export interface ApiClient {
  client: Client;
  ws: WsClient;
  liveStatus: ReturnType<typeof createLiveStatusStore>;
}

/**
 * The console's one GraphQL client: queries and mutations over HTTP with the API key as a
 * Bearer header, subscriptions over graphql-ws on the same /graphql path with the key in
 * connection_init. A rejected key (UNAUTHENTICATED, or close code 4401) signs the user out.
 */
export function createApiClient(apiKey: string, onUnauthenticated: (reason: string) => void): ApiClient {
  const liveStatus = createLiveStatusStore();
  const wsUrl = `${window.location.protocol === 'https:' ? 'wss' : 'ws'}://${window.location.host}/graphql`;
  let everConnected = false;
  const ws = createWsClient({
    url: wsUrl,
    connectionParams: { authorization: `Bearer ${apiKey}` },
    lazy: true,
    // Keep the socket a little after the last subscription ends: pages switch often.
    lazyCloseTimeout: 3_000,
    retryAttempts: Infinity,
    shouldRetry: (event) => !(isCloseEvent(event) && event.code === WS_UNAUTHORIZED),
    on: {
      connecting: () => liveStatus.set(everConnected ? 'reconnecting' : 'connecting'),
      connected: () => {
        everConnected = true;
        liveStatus.set('connected');
      },
      closed: (event) => {
        if (isCloseEvent(event) && event.code === WS_UNAUTHORIZED) {
          liveStatus.set('closed');
          onUnauthenticated(event.reason || 'The API key was rejected.');
          return;
        }
        liveStatus.set(isCloseEvent(event) && event.code === 1000 ? 'idle' : 'reconnecting');
      },
    },
  });

  const client = new Client({
    url: '/graphql',
    preferGetMethod: false,
    requestPolicy: 'cache-and-network',
    fetchOptions: () => ({ headers: { authorization: `Bearer ${apiKey}` } }),
    exchanges: [
      mapExchange({
        onResult(result) {
          const unauthenticated = result.error?.graphQLErrors.find((e) => e.extensions?.code === 'UNAUTHENTICATED');
          if (unauthenticated) onUnauthenticated(unauthenticated.message);
          return result;
        },
      }),
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query ?? '' };
          return {
            subscribe(sink) {
              const unsubscribe = ws.subscribe(input, sink);
              return { unsubscribe };
            },
          };
        },
      }),
    ],
  });
  return { client, ws, liveStatus };
}

function isCloseEvent(value: unknown): value is { code: number; reason: string } {
  return typeof value === 'object' && value !== null && 'code' in value && 'reason' in value;
}

/** Provides the client for `apiKey` (a new one when the key changes; the old socket is closed). */
export function ApiProvider({ apiKey, onUnauthenticated, children }: { apiKey: string; onUnauthenticated: (reason: string) => void; children: ReactNode }) {
  const api = useMemo(() => createApiClient(apiKey, onUnauthenticated), [apiKey, onUnauthenticated]);
  useEffect(() => () => void api.ws.dispose(), [api]);
  return createElement(LiveStatusContext.Provider, { value: api.liveStatus }, createElement(Provider, { value: api.client }, children));
}
