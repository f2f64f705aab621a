import { useId, useState } from 'react';
import { useQuery } from 'urql';
import { Button, ErrorMessage, Loading } from '../../shared/ui';
import { EVENT_TYPE_CATALOG_QUERY, type CatalogEntry } from './queries';
import { checkCustomPattern, coveringPattern, describePattern, groupByCategory, patternCovers, togglePattern } from './patterns';

/**
 * Chooses EventSubscription patterns: whole categories (`security.*`), single types, every
 * type (`*`), or a typed pattern such as `pipeline.run.*`. A type already selected through a
 * wildcard shows as checked and locked, with the wildcard named.
 */
export function EventTypePicker({ value, onChange, error }: { value: string[]; onChange: (patterns: string[]) => void; error?: string | null }) {
  const id = useId();
  const [result, reexecute] = useQuery<{ eventTypes: { edges: { node: CatalogEntry }[] } }>({ query: EVENT_TYPE_CATALOG_QUERY });
  const [custom, setCustom] = useState('');
  const [customError, setCustomError] = useState<string | null>(null);
  const catalog = result.data?.eventTypes.edges.map((e) => e.node) ?? [];
  const groups = groupByCategory(catalog);
  const everything = value.includes('*');

  const addCustom = (): void => {
    const problem = checkCustomPattern(custom, catalog, value);
    setCustomError(problem);
    if (problem) return;
    onChange(togglePattern(value, custom.trim()));
    setCustom('');
  };

  return (
    <fieldset className={`picker${error ? ' field--invalid' : ''}`} data-field="patterns" aria-describedby={error ? `${id}-error` : `${id}-hint`}>
      <legend className="field__label">Event types</legend>
      <p className="field__hint" id={`${id}-hint`}>
        The endpoint receives events whose type matches one of these patterns.
      </p>
      {error && (
        <p className="field__error" id={`${id}-error`}>
          {error}
        </p>
      )}
      <div className="picker__selected" aria-live="polite">
        {value.length === 0 ? (
          <span className="muted">Nothing selected: the endpoint will receive no events.</span>
        ) : (
          <ul className="chips" aria-label="Selected patterns">
            {value.map((p) => (
              <li key={p} className="chip chip--removable">
                <code>{p}</code>
                <span className="muted small">{describePattern(p, catalog)}</span>
                <button type="button" className="chip__remove" aria-label={`Remove ${p}`} onClick={() => onChange(value.filter((x) => x !== p))}>
                  ×
                </button>
              </li>
            ))}
          </ul>
        )}
      </div>

      {result.error && !result.data && <ErrorMessage error={result.error} onRetry={() => reexecute({ requestPolicy: 'network-only' })} />}
      {result.fetching && !result.data && <Loading label="Loading the event-type catalog…" />}
      {result.data && (
        <div className="picker__catalog">
          <label className="picker__option picker__option--all">
            <input type="checkbox" checked={everything} onChange={() => onChange(togglePattern(value, '*'))} />
            <span>
              <strong>All event types</strong> <code>*</code>
              <span className="muted small"> — including types added later</span>
            </span>
          </label>
          {groups.map((group) => {
            const groupCovered = group.wildcard ? (value.find((p) => patternCovers(p, group.wildcard!)) ?? null) : null;
            const wildcardChecked = group.wildcard ? value.includes(group.wildcard) || Boolean(groupCovered) : false;
            return (
              <div key={group.category} className="picker__group" role="group" aria-label={`${group.category} events`}>
                <div className="picker__group-title">
                  {group.wildcard ? (
                    <label className="picker__option">
                      <input
                        type="checkbox"
                        checked={wildcardChecked}
                        disabled={Boolean(groupCovered)}
                        onChange={() => onChange(togglePattern(value, group.wildcard!))}
                      />
                      <span>
                        <strong className="capitalize">{group.category}</strong> — all <code>{group.wildcard}</code>
                      </span>
                    </label>
                  ) : (
                    <strong className="capitalize">{group.category}</strong>
                  )}
                </div>
                <ul className="picker__types">
                  {group.types.map((t) => {
                    const via = coveringPattern(t.name, value);
                    return (
                      <li key={t.name}>
                        <label className="picker__option" title={t.description}>
                          <input type="checkbox" checked={Boolean(via) || value.includes(t.name)} disabled={Boolean(via)} onChange={() => onChange(togglePattern(value, t.name))} />
                          <span>
                            <code>{t.name}</code>
                            {via && <span className="muted small"> via {via}</span>}
                            {t.description && <span className="picker__desc muted small">{t.description}</span>}
                          </span>
                        </label>
                      </li>
                    );
                  })}
                </ul>
              </div>
            );
          })}
        </div>
      )}
      {result.data && (
        <div className="picker__custom">
          <label htmlFor={`${id}-custom`} className="field__label">
            Add a pattern
          </label>
          <div className="inline-form">
            <input
              id={`${id}-custom`}
              value={custom}
              placeholder="e.g. pipeline.run.*"
              spellCheck={false}
              aria-invalid={customError ? true : undefined}
              aria-describedby={customError ? `${id}-custom-error` : undefined}
              onChange={(e) => {
                setCustom(e.target.value);
                setCustomError(null);
              }}
              onKeyDown={(e) => {
                if (e.key === 'Enter') {
                  e.preventDefault();
                  addCustom();
                }
              }}
            />
            <Button onClick={addCustom}>Add pattern</Button>
          </div>
          {customError && (
            <p className="field__error" id={`${id}-custom-error`}>
              {customError}
            </p>
          )}
        </div>
      )}
    </fieldset>
  );
}
