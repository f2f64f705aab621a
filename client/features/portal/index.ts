export { usePortalToken, linkTokenFrom, type PortalState } from './portalToken';
export { PortalEnded } from './PortalEnded';
export { usePortalBranding } from './usePortalBranding';
