import type { ReactNode } from 'react';
import { ApiKeysPage } from './features/api-keys';
import { DeliveryDetail, DeliveryList } from './features/deliveries';
import { CreateEndpoint, EditEndpoint, EndpointList } from './features/endpoints';
import { EventPage, SearchPage } from './features/events';
import { EventTypeCatalog } from './features/event-types';
import { LiveStream } from './features/live';
import { EndpointDetailPage } from './pages/EndpointDetailPage';
import { NotFoundPage } from './pages/NotFoundPage';
import { matchPath, navigate, useLocation } from './shared/router';
import type { Permissions } from './shared/session';

interface Route {
  path: string;
  render: (params: Record<string, string>) => ReactNode;
  /** The navigation entry highlighted on this route. */
  nav: string;
}

/** Every page of the console. Order matters: `/endpoints/new` before `/endpoints/:id`. */
export const ROUTES: Route[] = [
  { path: '/endpoints', nav: 'endpoints', render: () => <EndpointList /> },
  { path: '/endpoints/new', nav: 'endpoints', render: () => <CreateEndpoint /> },
  { path: '/endpoints/:id', nav: 'endpoints', render: (p) => <EndpointDetailPage id={p.id!} key={p.id} /> },
  { path: '/endpoints/:id/edit', nav: 'endpoints', render: (p) => <EditEndpoint id={p.id!} key={p.id} /> },
  { path: '/live', nav: 'live', render: () => <LiveStream /> },
  { path: '/deliveries', nav: 'deliveries', render: () => <DeliveryList key="all" /> },
  { path: '/deliveries/:id', nav: 'deliveries', render: (p) => <DeliveryDetail id={p.id!} key={p.id} /> },
  { path: '/events/:id', nav: 'deliveries', render: (p) => <EventPage id={p.id!} key={p.id} /> },
  { path: '/search', nav: 'deliveries', render: () => <SearchPage /> },
  { path: '/dead-letters', nav: 'dead-letters', render: () => <DeliveryList deadLetters key="dead" /> },
  { path: '/event-types', nav: 'event-types', render: () => <EventTypeCatalog /> },
  { path: '/api-keys', nav: 'api-keys', render: () => <ApiKeysPage /> },
];

/** Navigation entries; API keys only for admins (the API refuses the list to others). */
export function navItems(can: Permissions): { key: string; label: string; to: string }[] {
  return [
    { key: 'endpoints', label: 'Endpoints', to: '/endpoints' },
    { key: 'live', label: 'Live', to: '/live' },
    { key: 'deliveries', label: 'Deliveries', to: '/deliveries' },
    { key: 'dead-letters', label: 'Dead letters', to: '/dead-letters' },
    { key: 'event-types', label: 'Event types', to: '/event-types' },
    ...(can.manageOrg ? [{ key: 'api-keys', label: 'API keys', to: '/api-keys' }] : []),
  ];
}

/** The route for the current location, and which navigation entry it belongs to. */
export function useRoute(): { element: ReactNode; nav: string | null } {
  const { pathname } = useLocation();
  const path = pathname.replace(/\/+$/, '') || '/';
  if (path === '/' || path === '/login') {
    // The bare address opens the endpoints page.
    queueMicrotask(() => navigate('/endpoints', { replace: true }));
    return { element: null, nav: null };
  }
  for (const route of ROUTES) {
    const params = matchPath(route.path, path);
    if (params) return { element: route.render(params), nav: route.nav };
  }
  return { element: <NotFoundPage />, nav: null };
}
