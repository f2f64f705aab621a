import { useState, type ReactNode } from 'react';
import { CopyButton } from './CopyButton';

/**
 * A secret the server shows only once (signing secret, API key). It stays on screen until
 * the user says it is stored; after that it cannot be shown again.
 */
export function SecretBox({ label, secret, onDismiss, children }: { label: string; secret: string; onDismiss: () => void; children?: ReactNode }) {
  const [copied, setCopied] = useState(false);
  return (
    <section className="secret" aria-label={label}>
      <p className="secret__title">
        <strong>{label}</strong> — shown only once. Store it now: it cannot be displayed again.
      </p>
      {children}
      <div className="secret__row">
        <code className="secret__value" data-testid="secret-value">
          {secret}
        </code>
        <CopyButton value={secret} label={`Copy ${label.toLowerCase()}`} onCopied={() => setCopied(true)} />
      </div>
      <button type="button" className="btn btn--primary btn--sm" onClick={onDismiss}>
        {copied ? 'Done, I stored it' : 'I have stored it'}
      </button>
    </section>
  );
}
