import { useId, useState, type FormEvent } from 'react';
import { navigate } from '../../shared/router';

/**
 * The header's search box: an event id (evt_…, the webhook-id a receiver saw), the eventId the
 * platform published with, or a delivery id (dlv_…). /search works out which and opens the page.
 */
export function EventSearch({ onSearch }: { onSearch?: () => void }) {
  const id = useId();
  const [query, setQuery] = useState('');
  const submit = (event: FormEvent): void => {
    event.preventDefault();
    const q = query.trim();
    if (!q) return;
    navigate(`/search?q=${encodeURIComponent(q)}`);
    setQuery('');
    onSearch?.();
  };
  return (
    <form className="search" role="search" aria-label="Find an event or delivery" onSubmit={submit}>
      <label htmlFor={id} className="visually-hidden">
        Event id, eventId or delivery id
      </label>
      <input
        id={id}
        type="search"
        className="search__input"
        value={query}
        onChange={(e) => setQuery(e.target.value)}
        placeholder="Find an event or delivery"
        title="An event id (evt_…), the eventId it was published with, or a delivery id (dlv_…)"
        spellCheck={false}
        autoComplete="off"
      />
      <button type="submit" className="btn btn--secondary btn--sm">
        Find
      </button>
    </form>
  );
}
