import type { ServerResponse } from 'node:http';
import { PORTAL_PATH as PORTAL_PAGE } from './services/portalSessions.js';

/**
 * Who may put our pages in a frame. The portal page may be framed by the platform's own origins
 * (WEBHOOKS_PORTAL_FRAME_ANCESTORS) and by this origin; every other response refuses framing
 * (CSP frame-ancestors for current browsers, X-Frame-Options for old ones), so the console
 * itself cannot be clickjacked. The portal page also sends no Referer anywhere.
 */
export function applyFramingPolicy(res: ServerResponse, path: string, portalFrameAncestors: readonly string[]): void {
  if (path === PORTAL_PAGE || path.startsWith(`${PORTAL_PAGE}/`)) {
    res.setHeader('content-security-policy', `frame-ancestors 'self'${portalFrameAncestors.filter((o) => o !== "'self'").map((o) => ` ${o}`).join('')}`);
    res.setHeader('referrer-policy', 'no-referrer');
    return;
  }
  res.setHeader('content-security-policy', "frame-ancestors 'none'");
  res.setHeader('x-frame-options', 'DENY');
}
