import type { ReactNode } from 'react';
import type { CombinedError } from 'urql';
import { errorCode, errorMessage } from '../errors';

/** Polite loading indicator (announced once by screen readers). */
export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <div className="loading" role="status" aria-live="polite">
      <span className="loading__dot" aria-hidden="true" />
      {label}
    </div>
  );
}

/** An error from the API, with what to do about it. */
export function ErrorMessage({ error, message, title, onRetry }: { error?: CombinedError | null; message?: string; title?: string; onRetry?: () => void }) {
  const text = message ?? errorMessage(error);
  if (!text) return null;
  const code = errorCode(error);
  const heading =
    title ??
    (code === 'FORBIDDEN'
      ? 'Not allowed'
      : code === 'FEATURE_NOT_AVAILABLE'
        ? 'Not on this plan'
        : code === 'NOT_FOUND'
          ? 'Not found'
          : error?.networkError
            ? 'Connection problem'
            : 'Something went wrong');
  return (
    <div className="alert alert--danger" role="alert">
      <strong>{heading}</strong>
      <p>{text}</p>
      {onRetry && (
        <button type="button" className="btn btn--secondary btn--sm" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

/** An explanation box (info, or a warning). */
export function Notice({ tone = 'info', title, children }: { tone?: 'info' | 'warning' | 'success'; title?: string; children: ReactNode }) {
  return (
    <div className={`alert alert--${tone}`} role={tone === 'success' ? 'status' : 'note'}>
      {title && <strong>{title}</strong>}
      <div>{children}</div>
    </div>
  );
}

/** What a page shows when a list has nothing in it, with the next step. */
export function EmptyState({ title, children, action }: { title: string; children?: ReactNode; action?: ReactNode }) {
  return (
    <div className="empty">
      <p className="empty__title">{title}</p>
      {children && <div className="empty__text">{children}</div>}
      {action && <div className="empty__action">{action}</div>}
    </div>
  );
}
