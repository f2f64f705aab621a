import { useMemo, type ReactNode } from 'react';
import { useQuery } from 'urql';
import { SessionContext, type Session, type Viewer } from '../../shared/session';
import { Button, ErrorMessage, Loading } from '../../shared/ui';
import { VIEWER_QUERY } from './queries';

/**
 * Loads `viewer` with the stored key and provides the session to the console. Publishers may
 * only publish, so they get an explanation instead of pages that would all be refused.
 */
export function SessionGate({ apiKey, initialViewer, logout, children }: { apiKey: string; initialViewer: Viewer | null; logout: (reason?: string) => void; children: ReactNode }) {
  const [result, reexecute] = useQuery<{ viewer: Viewer }>({ query: VIEWER_QUERY, requestPolicy: initialViewer ? 'cache-and-network' : 'network-only' });
  const viewer = result.data?.viewer ?? initialViewer;
  const session = useMemo<Session | null>(() => (viewer ? { apiKey, viewer, logout } : null), [apiKey, viewer, logout]);

  if (!session) {
    if (result.error) {
      return (
        <main className="login">
          <div className="login__card card">
            <ErrorMessage error={result.error} onRetry={() => reexecute({ requestPolicy: 'network-only' })} />
            <Button onClick={() => logout()}>Sign out</Button>
          </div>
        </main>
      );
    }
    return (
      <main className="login">
        <Loading label="Signing in…" />
      </main>
    );
  }
  if (session.viewer.role === 'PUBLISHER') {
    return (
      <main className="login">
        <div className="login__card card">
          <h1>This key can only publish</h1>
          <p>
            “{session.viewer.apiKeyName}” has the <strong>publisher</strong> role: it publishes events through the API but cannot read endpoints or
            deliveries. Sign in with a viewer, operator or admin key to use the console.
          </p>
          <Button variant="primary" onClick={() => logout()}>
            Sign in with another key
          </Button>
        </div>
      </main>
    );
  }
  return <SessionContext.Provider value={session}>{children}</SessionContext.Provider>;
}
