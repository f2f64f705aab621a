/**
 * graphql-ws for tests: a client with the `ws` package, and subscriptions that collect what they
 * receive so a test can wait for messages, errors or the end of the stream.
 */
import WebSocket from 'ws';
import { createClient, type Client } from 'graphql-ws';

export interface LiveSubscription<T = any> {
  messages: T[];
  /** `errors` of results that carried some (e.g. NOT_FOUND when subscribing). */
  errors: { message: string; extensions?: { code?: string } }[];
  /** What the sink's error received: a close event ({code, reason}) or GraphQL errors. */
  failure: unknown;
  completed: boolean;
  /** Resolves once `count` messages arrived (rejects after `timeoutMs`). */
  waitFor(count: number, timeoutMs?: number): Promise<T[]>;
  /** Resolves when the stream ended (complete or error). */
  ended(timeoutMs?: number): Promise<void>;
  unsubscribe(): void;
}

/** A graphql-ws client for `baseUrl` (http://...) authenticating with `apiKey` in connection_init. */
export function wsClient(baseUrl: string, apiKey: string | null, extra: { connectionParams?: Record<string, unknown> } = {}): Client {
  return createClient({
    url: `${baseUrl.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: extra.connectionParams ?? (apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
    retryAttempts: 0,
    lazy: true,
  });
}

/** Starts a subscription on `client` and collects its results. */
export function liveSubscribe<T = any>(client: Client, query: string, variables: Record<string, unknown> = {}, pick?: (data: any) => T): LiveSubscription<T> {
  const waiters = new Set<() => void>();
  const wake = () => waiters.forEach((w) => w());
  const sub: LiveSubscription<T> = {
    messages: [],
    errors: [],
    failure: null,
    completed: false,
    waitFor: (count, timeoutMs = 10_000) => until(() => sub.messages.length >= count, () => `${sub.messages.length} of ${count} messages`, timeoutMs).then(() => sub.messages),
    ended: (timeoutMs = 10_000) => until(() => sub.completed || sub.failure !== null, () => 'the end of the stream', timeoutMs),
    unsubscribe: () => unsubscribe(),
  };
  function until(done: () => boolean, what: () => string, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      if (done()) return resolve();
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`timed out waiting for ${what()} (errors: ${JSON.stringify(sub.errors)}, failure: ${JSON.stringify(sub.failure)})`));
      }, timeoutMs);
      const check = () => {
        if (!done()) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve();
      };
      waiters.add(check);
    });
  }
  const unsubscribe = client.subscribe<any>(
    { query, variables },
    {
      next: (result) => {
        if (result.errors?.length) sub.errors.push(...(result.errors as LiveSubscription['errors']));
        if (result.data) sub.messages.push(pick ? pick(result.data) : (Object.values(result.data)[0] as T));
        wake();
      },
      error: (err) => {
        sub.failure = err;
        wake();
      },
      complete: () => {
        sub.completed = true;
        wake();
      },
    },
  );
  return sub;
}
