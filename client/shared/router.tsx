import { useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent } from 'react';

/**
 * A tiny history router: the console has a dozen routes, so a package would be more code to
 * learn than this. The server (and Vite in dev) answer every unknown path with index.html.
 */
const listeners = new Set<() => void>();

function notify(): void {
  for (const listener of listeners) listener();
}

if (typeof window !== 'undefined') window.addEventListener('popstate', notify);

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/**
 * Where the console lives: `/portal` for an embedded portal session (its routes stay below it, so
 * a reload inside the platform's iframe loads a page that may be framed), else the root.
 */
export const BASE_PATH = typeof window !== 'undefined' && /^\/portal(\/|$)/.test(window.location.pathname) ? '/portal' : '';

const snapshot = (): string => (window.location.pathname.slice(BASE_PATH.length) || '/') + window.location.search;

/** Goes to `to` (path and optional query string) without reloading the page. */
export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (to === snapshot()) return;
  if (options.replace) window.history.replaceState(null, '', BASE_PATH + to);
  else window.history.pushState(null, '', BASE_PATH + to);
  notify();
  if (!options.replace) window.scrollTo({ top: 0 });
}

/** The current path and query string; re-renders on navigation. */
export function useLocation(): { pathname: string; search: URLSearchParams } {
  const value = useSyncExternalStore(subscribe, snapshot, () => '/');
  const [pathname, query = ''] = value.split('?');
  return { pathname: pathname ?? '/', search: new URLSearchParams(query) };
}

/** Query-string state: `set({ status: 'DEAD', page: null })` replaces (null/'' removes) keys. */
export function useSearchParams(): [URLSearchParams, (changes: Record<string, string | null | undefined>) => void] {
  const { pathname, search } = useLocation();
  const set = (changes: Record<string, string | null | undefined>): void => {
    const next = new URLSearchParams(search);
    for (const [key, value] of Object.entries(changes)) {
      if (value == null || value === '') next.delete(key);
      else next.set(key, value);
    }
    const query = next.toString();
    navigate(query ? `${pathname}?${query}` : pathname, { replace: true });
  };
  return [search, set];
}

/** Params of `pattern` (e.g. `/endpoints/:id`) in `pathname`, or null when it does not match. */
export function matchPath(pattern: string, pathname: string): Record<string, string> | null {
  const want = pattern.split('/').filter(Boolean);
  const have = pathname.split('/').filter(Boolean);
  if (want.length !== have.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const h = have[i]!;
    if (w.startsWith(':')) params[w.slice(1)] = decodeURIComponent(h);
    else if (w !== h) return null;
  }
  return params;
}

type LinkProps = AnchorHTMLAttributes<HTMLAnchorElement> & { to: string };

/** An <a> that navigates in-app on a plain left click and behaves normally otherwise. */
export function Link({ to, onClick, ...rest }: LinkProps) {
  const handle = (event: MouseEvent<HTMLAnchorElement>): void => {
    onClick?.(event);
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(to);
  };
  return <a href={BASE_PATH + to} onClick={handle} {...rest} />;
}
