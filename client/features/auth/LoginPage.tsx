import { useEffect, useState, type FormEvent } from 'react';
import { APP_NAME, Button, Field } from '../../shared/ui';
import type { Viewer } from '../../shared/session';
import { verifyApiKey } from './verifyApiKey';

/** Sign-in with an API key; the key is kept in this tab only (sessionStorage). */
export function LoginPage({ onLogin, notice }: { onLogin: (apiKey: string, viewer: Viewer) => void; notice?: string | null }) {
  const [apiKey, setApiKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    document.title = `Sign in · ${APP_NAME}`;
  }, []);

  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    const key = apiKey.trim();
    if (!key) {
      setError('Enter an API key (it starts with whk_).');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      onLogin(key, await verifyApiKey(key));
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
      setBusy(false);
    }
  };

  return (
    <main className="login">
      <form className="login__card card" onSubmit={submit} aria-labelledby="login-title" noValidate>
        <p className="brand brand--large">
          <span className="brand__mark" aria-hidden="true" />
          Org webhooks
        </p>
        <h1 id="login-title">Sign in to the console</h1>
        <p className="muted">
          Use an API key of your organization. Its role decides what you can do: viewers read, operators also recover deliveries, admins change
          settings.
        </p>
        {notice && (
          <div className="alert alert--warning" role="alert">
            {notice}
          </div>
        )}
        <Field label="API key" error={error} hint="Kept in this browser tab only; closing the tab signs you out.">
          {(props) => (
            <input
              {...props}
              type="password"
              autoComplete="off"
              spellCheck={false}
              placeholder="whk_…"
              value={apiKey}
              onChange={(e) => setApiKey(e.target.value)}
              autoFocus
            />
          )}
        </Field>
        <Button type="submit" variant="primary" busy={busy} busyLabel="Checking…">
          Sign in
        </Button>
      </form>
    </main>
  );
}
