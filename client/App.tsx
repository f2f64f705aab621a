import { useCallback, useEffect, useState } from 'react';
import { LoginPage, SessionGate } from './features/auth';
import { EventSearch } from './features/events';
import { PortalEnded, usePortalBranding, usePortalToken } from './features/portal';
import { Loading } from './shared/ui';
import { navItems, useRoute } from './routes';
import { BASE_PATH, Link, useLocation } from './shared/router';
import { storedApiKey, usePermissions, useSession, type Viewer } from './shared/session';
import { useHeadingFocus } from './shared/useHeadingFocus';
import { ApiProvider } from './urql';

/**
 * Signed out: the login page. Signed in: one urql client for the key, the viewer loaded once,
 * and the shell around the current route.
 */
export function App() {
  return BASE_PATH ? <PortalApp /> : <ConsoleApp />;
}

/** An embedded portal session: opened from its link, never a login page, ended for good. */
function PortalApp() {
  const portal = usePortalToken();
  if (portal.state === 'opening') {
    return (
      <main className="login">
        <Loading label="Opening…" />
      </main>
    );
  }
  if (portal.state === 'ended') return <PortalEnded message={portal.message} />;
  return (
    <ApiProvider apiKey={portal.token} onUnauthenticated={portal.end}>
      <SessionGate apiKey={portal.token} initialViewer={null} logout={(reason) => portal.end(reason ?? 'The session ended.')}>
        <Shell />
      </SessionGate>
    </ApiProvider>
  );
}

function ConsoleApp() {
  const [apiKey, setApiKey] = useState<string | null>(() => storedApiKey.get());
  const [initialViewer, setInitialViewer] = useState<Viewer | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const logout = useCallback((reason?: string) => {
    storedApiKey.clear();
    setApiKey(null);
    setInitialViewer(null);
    setNotice(reason ?? null);
  }, []);
  const rejected = useCallback((reason: string) => logout(`Signed out: ${reason}`), [logout]);

  if (!apiKey) {
    return (
      <LoginPage
        notice={notice}
        onLogin={(key, viewer) => {
          storedApiKey.set(key);
          setInitialViewer(viewer);
          setNotice(null);
          setApiKey(key);
        }}
      />
    );
  }
  return (
    <ApiProvider apiKey={apiKey} onUnauthenticated={rejected}>
      <SessionGate apiKey={apiKey} initialViewer={initialViewer} logout={logout}>
        <Shell />
      </SessionGate>
    </ApiProvider>
  );
}

function Shell() {
  const { viewer, logout } = useSession();
  const can = usePermissions();
  const { element, nav } = useRoute();
  const { pathname } = useLocation();
  const [menuOpen, setMenuOpen] = useState(false);
  useEffect(() => setMenuOpen(false), [pathname]);
  useHeadingFocus(pathname);
  usePortalBranding(viewer.portal);

  return (
    <div className="shell">
      <a href="#main" className="skip-link">
        Skip to content
      </a>
      <header className="topbar">
        <div className="topbar__inner">
          <Link to="/endpoints" className="brand">
            <span className="brand__mark" aria-hidden="true" />
            {viewer.portal?.displayName ? `Webhooks · ${viewer.portal.displayName}` : 'Org webhooks'}
          </Link>
          <button type="button" className="topbar__menu btn btn--ghost btn--sm" aria-expanded={menuOpen} aria-controls="main-nav" onClick={() => setMenuOpen((o) => !o)}>
            Menu
          </button>
          <nav id="main-nav" aria-label="Main" className={`nav${menuOpen ? ' nav--open' : ''}`}>
            {navItems(can).map((item) => (
              <Link key={item.key} to={item.to} className="nav__link" aria-current={nav === item.key ? 'page' : undefined}>
                {item.label}
              </Link>
            ))}
          </nav>
          <EventSearch />
          <div className={`topbar__account${menuOpen ? ' topbar__account--open' : ''}`}>
            <span className="topbar__org" title={`Signed in as “${viewer.apiKeyName}”`}>
              {viewer.org.name}
            </span>
            <span className="badge badge--neutral" aria-label={`Role: ${viewer.role.toLowerCase()}`}>
              {viewer.role.toLowerCase()}
            </span>
            {!can.enterprise && <span className="badge badge--warning">{viewer.plan}</span>}
            {!viewer.portal && (
              <button type="button" className="btn btn--ghost btn--sm" onClick={() => logout()}>
                Sign out
              </button>
            )}
          </div>
        </div>
      </header>
      <main id="main" className="page" tabIndex={-1}>
        {element}
      </main>
    </div>
  );
}
