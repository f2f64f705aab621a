import { useEffect, type ReactNode } from 'react';

export const APP_NAME = 'Org webhooks';

/**
 * Page title, one-line description and the page's main actions. It names the browser tab too
 * ("Dead letters · Org webhooks"): `documentTitle`, or `title` when that is plain text. The
 * heading takes focus when the console navigates to the page (see App.tsx).
 */
export function PageHeader({
  title,
  documentTitle,
  description,
  actions,
  back,
}: {
  title: ReactNode;
  documentTitle?: string;
  description?: ReactNode;
  actions?: ReactNode;
  back?: ReactNode;
}) {
  const tabTitle = documentTitle ?? (typeof title === 'string' ? title : null);
  useEffect(() => {
    if (tabTitle) document.title = `${tabTitle} · ${APP_NAME}`;
  }, [tabTitle]);
  return (
    <header className="page-header">
      {back && <div className="page-header__back">{back}</div>}
      <div className="page-header__row">
        <div className="page-header__text">
          <h1 tabIndex={-1} className="page-header__title">
            {title}
          </h1>
          {description && <p className="page-header__description">{description}</p>}
        </div>
        {actions && <div className="page-header__actions">{actions}</div>}
      </div>
    </header>
  );
}

/** A titled card; `aria-label` comes from the title so sections are landmarks for tests and AT. */
export function Section({ title, actions, children, description }: { title: string; actions?: ReactNode; children: ReactNode; description?: ReactNode }) {
  return (
    <section className="card" aria-label={title}>
      <div className="card__header">
        <div>
          <h2 className="card__title">{title}</h2>
          {description && <p className="card__description">{description}</p>}
        </div>
        {actions && <div className="card__actions">{actions}</div>}
      </div>
      {children}
    </section>
  );
}

/** Label/value pairs (settings, delivery facts). */
export function DescriptionList({ items }: { items: Array<[ReactNode, ReactNode] | null | false> }) {
  return (
    <dl className="dl">
      {items.filter((x): x is [ReactNode, ReactNode] => Boolean(x)).map(([term, value], i) => (
        <div className="dl__row" key={i}>
          <dt>{term}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

/** Pre-formatted text (JSON, headers, response bodies), scrollable. */
export function CodeBlock({ children, label }: { children: string; label?: string }) {
  return (
    <pre className="code" aria-label={label} tabIndex={0}>
      <code>{children}</code>
    </pre>
  );
}
