/**
 * The delivery list the user last looked at (path and filters), so "← Deliveries" on a delivery
 * or event page returns to that list as it was, dead letters and filters included, even after a
 * reload. Kept per tab, like the session.
 */
const KEY = 'org-webhooks.deliveryList';
const LISTS = ['/deliveries', '/dead-letters'];

export function rememberDeliveryList(location: string): void {
  try {
    window.sessionStorage.setItem(KEY, location);
  } catch {
    // Storage unavailable (private mode quota): the back link falls back to the plain list.
  }
}

/** The remembered list and its label ("Dead letters" or "Deliveries"). */
export function deliveryListLink(): { to: string; label: string } {
  let stored: string | null = null;
  try {
    stored = window.sessionStorage.getItem(KEY);
  } catch {
    stored = null;
  }
  const path = stored?.split('?')[0] ?? '';
  if (!stored || !LISTS.includes(path)) return { to: '/deliveries', label: 'Deliveries' };
  return { to: stored, label: path === '/dead-letters' ? 'Dead letters' : 'Deliveries' };
}
