import { useCallback, useEffect, useState } from 'react';
import { EXCHANGE_PORTAL_TOKEN as EXCHANGE } from './queries';

const STORAGE_KEY = 'org-webhooks.portalSession';

/**
 * The tab's sessionStorage where the browser allows it. Inside another site's iframe, browsers
 * that block third-party storage throw on every access: the session then lives in memory only
 * (a reload of the frame needs a fresh link from the platform).
 */
const stored = {
  get(): string | null {
    try {
      return window.sessionStorage.getItem(STORAGE_KEY);
    } catch {
      return null;
    }
  },
  set(token: string): void {
    try {
      window.sessionStorage.setItem(STORAGE_KEY, token);
    } catch {
      // memory only
    }
  },
  clear(): void {
    try {
      window.sessionStorage.removeItem(STORAGE_KEY);
    } catch {
      // nothing stored
    }
  },
};

export type PortalState = { state: 'opening' } | { state: 'ready'; token: string } | { state: 'ended'; message: string };

/** The link token in `#token=...`, if the page was opened from a portal link. */
export function linkTokenFrom(hash: string): string | null {
  const match = /(?:^#|&)token=([^&]+)/.exec(hash);
  return match ? decodeURIComponent(match[1]!) : null;
}

/**
 * The portal session of this page. Opened from a portal link, the link's one-time token (in the
 * URL fragment, which no server ever sees) is traded for a session token at once, and the
 * fragment is removed from the address and history. The session token stays in this tab's
 * sessionStorage (the iframe's own, partitioned by the browser), so a reload keeps the session
 * until it expires or is revoked.
 */
export function usePortalToken(): PortalState & { end: (message: string) => void } {
  const [state, setState] = useState<PortalState>({ state: 'opening' });
  const end = useCallback((message: string) => {
    stored.clear();
    setState({ state: 'ended', message });
  }, []);

  useEffect(() => {
    const link = linkTokenFrom(window.location.hash);
    if (!link) {
      const kept = stored.get();
      setState(kept ? { state: 'ready', token: kept } : { state: 'ended', message: 'This page opens from a portal link. Open it again from the platform.' });
      return;
    }
    window.history.replaceState(null, '', window.location.pathname + window.location.search);
    let cancelled = false;
    void (async () => {
      try {
        const response = await fetch('/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: EXCHANGE, variables: { token: link } }),
        });
        const body = (await response.json()) as { data?: { exchangePortalToken?: { sessionToken: string } }; errors?: { message: string }[] };
        const token = body.data?.exchangePortalToken?.sessionToken;
        if (cancelled) return;
        if (!token) {
          // The link may have been used by this tab a moment ago (a reload): keep that session.
          const kept = stored.get();
          setState(kept ? { state: 'ready', token: kept } : { state: 'ended', message: body.errors?.[0]?.message ?? 'This portal link cannot be opened.' });
          return;
        }
        stored.set(token);
        setState({ state: 'ready', token });
      } catch {
        if (!cancelled) setState({ state: 'ended', message: 'The portal could not be reached; try again.' });
      }
    })();
    return () => {
      cancelled = true;
    };
  }, []);

  return { ...state, end };
}
