import type { IncomingMessage } from 'node:http';

/**
 * The address a request came from, for per-client limits. With `trustProxyHops` reverse proxies
 * in front (WEBHOOKS_TRUST_PROXY_HOPS), the entry of X-Forwarded-For that the outermost trusted
 * proxy added; entries further left are the client's own claims and are not believed.
 */
export function clientAddress(req: Pick<IncomingMessage, 'headers' | 'socket'>, trustProxyHops: number): string | null {
  const peer = req.socket?.remoteAddress ?? null;
  if (trustProxyHops === 0) return peer;
  const header = req.headers['x-forwarded-for'];
  const list = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').map((s) => s.trim()).filter(Boolean);
  return list[list.length - trustProxyHops] ?? list[0] ?? peer;
}
