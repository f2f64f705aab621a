import { useEffect } from 'react';
import type { PortalInfo } from '../../shared/session';

/** Mixes `hex` toward white by `amount` (0–1): the soft variant of the accent. */
function tint(hex: string, amount: number): string {
  const n = parseInt(hex.slice(1), 16);
  const channel = (shift: number) => Math.round(((n >> shift) & 255) + (255 - ((n >> shift) & 255)) * amount);
  return `rgb(${channel(16)}, ${channel(8)}, ${channel(0)})`;
}

/** The platform's accent colour and name on the console of a portal session. */
export function usePortalBranding(portal: PortalInfo | null | undefined): void {
  useEffect(() => {
    if (!portal) return;
    const root = document.documentElement.style;
    if (portal.accentColor) {
      root.setProperty('--accent', portal.accentColor);
      root.setProperty('--accent-hover', portal.accentColor);
      root.setProperty('--accent-soft', tint(portal.accentColor, 0.9));
    }
    if (portal.displayName) document.title = `Webhooks · ${portal.displayName}`;
  }, [portal]);
}
