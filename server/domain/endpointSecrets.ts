/**
 * What of an endpoint's settings is secret: its URL's query string (receivers put tokens there,
 * `?token=...`) and its custom header values (`Authorization: Bearer ...`). They are stored
 * sealed; the plain columns keep a masked form that anyone who may read the endpoint can see.
 */

/** Shown instead of a secret value. */
export const MASK = '••••';

/** A URL split into the part shown to everyone and the secret query (without `?`), or null. */
export function splitUrlSecret(url: string): { display: string; secret: string | null } {
  const at = url.indexOf('?');
  if (at < 0) return { display: url, secret: null };
  const secret = url.slice(at + 1);
  return { display: `${url.slice(0, at)}?${maskQuery(secret)}`, secret };
}

/** The full URL from its display form (as splitUrlSecret made it) and the opened secret query. */
export function joinUrlSecret(display: string, secret: string | null): string {
  if (secret === null) return display;
  const at = display.indexOf('?');
  return `${at < 0 ? display : display.slice(0, at)}?${secret}`;
}

/** `a=1&token=xyz#frag` → `a=••••&token=••••`: names kept, values (and fragments) masked. */
export function maskQuery(query: string): string {
  return query
    .split('#')[0]!
    .split('&')
    .map((part) => {
      const eq = part.indexOf('=');
      return eq < 0 ? MASK : `${part.slice(0, eq)}=${MASK}`;
    })
    .join('&');
}

/** Header names with their values masked, in order. */
export function maskHeaderValues(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.keys(headers).map((name) => [name, MASK]));
}
