import { useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { prettyJson } from '../../shared/format';
import { usePermissions } from '../../shared/session';
import { Badge, Button, CodeBlock, ConfirmDialog, DataTable, Dialog, EmptyState, ErrorMessage, Loading, Notice, PageHeader, type Column } from '../../shared/ui';
import { CreateEventTypeForm } from './CreateEventTypeForm';
import { DEPRECATE_EVENT_TYPE, EVENT_TYPES_QUERY, type EventType } from './queries';

/** The event-type catalog: built-in and custom types, create (admins), deprecate custom ones. */
export function EventTypeCatalog() {
  const can = usePermissions();
  const [result, reexecute] = useQuery<{ eventTypes: { edges: { node: EventType }[] } }>({ query: EVENT_TYPES_QUERY });
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<string | null>(null);
  const [deprecating, setDeprecating] = useState<EventType | null>(null);
  const [viewing, setViewing] = useState<EventType | null>(null);
  const [showDeprecated, setShowDeprecated] = useState(true);
  const [deprecation, deprecate] = useMutation(DEPRECATE_EVENT_TYPE);
  const refresh = (): void => reexecute({ requestPolicy: 'network-only' });

  const types = (result.data?.eventTypes.edges.map((e) => e.node) ?? []).filter((t) => showDeprecated || !t.deprecated);
  const categories = [...new Set(types.map((t) => t.category))].sort();

  const columns: Column<EventType>[] = [
    {
      key: 'name',
      header: 'Name',
      className: 'cell-main',
      render: (t) => (
        <div className="stack-xs">
          <code className={t.deprecated ? 'strike' : undefined}>{t.name}</code>
          {t.uid && (
            <code className="muted small" title="uid: the name integrators give this event type">
              uid {t.uid}
            </code>
          )}
        </div>
      ),
    },
    { key: 'description', header: 'Description', render: (t) => t.description || <span className="muted">—</span> },
    {
      key: 'kind',
      header: 'Kind',
      render: (t) => (
        <span className="chips">
          <Badge tone={t.builtIn ? 'neutral' : 'accent'}>{t.builtIn ? 'Built in' : 'Custom'}</Badge>
          {t.deprecated && <Badge tone="warning">Deprecated</Badge>}
        </span>
      ),
    },
    {
      key: 'schema',
      header: 'Schema',
      render: (t) =>
        t.schema ? (
          <Button size="sm" variant="ghost" onClick={() => setViewing(t)} aria-label={`View schema of ${t.name}`}>
            View schema
          </Button>
        ) : (
          <span className="muted">Free-form</span>
        ),
    },
  ];
  if (can.manageOrg) {
    columns.push({
      key: 'actions',
      header: 'Actions',
      render: (t) =>
        !t.builtIn && !t.deprecated ? (
          <Button size="sm" variant="danger" onClick={() => setDeprecating(t)} aria-label={`Deprecate ${t.name}`}>
            Deprecate
          </Button>
        ) : null,
    });
  }

  return (
    <>
      <PageHeader
        title="Event types"
        description="The catalog endpoints subscribe to. Built-in types are shared by every organization; you can add your own."
        actions={
          can.manageOrg && !creating ? (
            <Button variant="primary" onClick={() => (setCreating(true), setCreated(null))}>
              New event type
            </Button>
          ) : null
        }
      />
      {creating && (
        <CreateEventTypeForm
          onCancel={() => setCreating(false)}
          onCreated={(t) => {
            setCreating(false);
            setCreated(t.name);
            refresh();
          }}
        />
      )}
      {created && (
        <Notice tone="success">
          <span>
            <code>{created}</code> was added to the catalog.
          </span>
        </Notice>
      )}
      {deprecation.error && <ErrorMessage error={deprecation.error} />}
      <div className="toolbar">
        <label className="checkbox-inline">
          <input type="checkbox" checked={showDeprecated} onChange={(e) => setShowDeprecated(e.target.checked)} />
          Show deprecated types
        </label>
      </div>
      {result.error && !result.data && <ErrorMessage error={result.error} onRetry={refresh} />}
      {result.fetching && !result.data && <Loading label="Loading the catalog…" />}
      {result.data && types.length === 0 && <EmptyState title="No event types">The catalog is empty.</EmptyState>}
      {categories.map((category) => (
        <section key={category} className="catalog-group" aria-label={`${category} event types`}>
          <h2 className="catalog-group__title capitalize">{category}</h2>
          <DataTable caption={`${category} event types`} columns={columns} rows={types.filter((t) => t.category === category)} rowKey={(t) => t.id} />
        </section>
      ))}

      <ConfirmDialog
        open={deprecating !== null}
        title="Deprecate this event type?"
        confirmLabel="Deprecate"
        tone="danger"
        busy={deprecation.fetching}
        onCancel={() => setDeprecating(null)}
        onConfirm={async () => {
          if (!deprecating) return;
          await deprecate({ id: deprecating.id });
          setDeprecating(null);
          refresh();
        }}
      >
        <p>
          <code>{deprecating?.name}</code> stays in the catalog but accepts no new events and no new subscription patterns. This cannot be undone
          from the console.
        </p>
      </ConfirmDialog>
      <Dialog
        open={viewing !== null}
        title={`Schema of ${viewing?.name ?? ''}`}
        onClose={() => setViewing(null)}
        footer={<Button onClick={() => setViewing(null)}>Close</Button>}
      >
        <CodeBlock label="JSON Schema">{viewing ? prettyJson(viewing.schema) : ''}</CodeBlock>
      </Dialog>
    </>
  );
}
