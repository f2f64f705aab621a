import { useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import { errorCode, errorMessage, fieldProblems } from '../../shared/errors';
import { usePermissions, useSession } from '../../shared/session';
import { Badge, Button, ConfirmDialog, DataTable, EmptyState, ErrorMessage, Field, Loading, Notice, PageHeader, SecretBox, Time, type Column } from '../../shared/ui';
import { API_KEYS_QUERY, CREATE_API_KEY, REVOKE_API_KEY, type ApiKey, type ApiKeyRole } from './queries';

const ROLES: { role: ApiKeyRole; label: string; detail: string }[] = [
  { role: 'VIEWER', label: 'Viewer', detail: 'reads endpoints, deliveries and live streams; never secrets or payloads' },
  { role: 'OPERATOR', label: 'Operator', detail: 'also replays deliveries, pauses/resumes endpoints and sends test events' },
  { role: 'PUBLISHER', label: 'Publisher', detail: 'publishes events only (for the platform)' },
  { role: 'ADMIN', label: 'Admin', detail: 'everything, including settings, signing keys and API keys' },
];

/** API keys of the organization (admins): create (the key is shown once) and revoke. */
export function ApiKeysPage() {
  const can = usePermissions();
  const { viewer, logout } = useSession();
  const [result, reexecute] = useQuery<{ apiKeys: { edges: { node: ApiKey }[]; pageInfo: { hasNextPage: boolean } } }>({ query: API_KEYS_QUERY, variables: { first: 200 }, pause: !can.manageOrg });
  const [name, setName] = useState('');
  const [role, setRole] = useState<ApiKeyRole>('VIEWER');
  const [problems, setProblems] = useState<Record<string, string>>({});
  const [general, setGeneral] = useState<string | null>(null);
  const [newKey, setNewKey] = useState<{ key: string; apiKey: ApiKey } | null>(null);
  const [revoking, setRevoking] = useState<ApiKey | null>(null);
  const [creation, create] = useMutation<{ createApiKey: { key: string; apiKey: ApiKey } }>(CREATE_API_KEY);
  const [revocation, revoke] = useMutation<{ revokeApiKey: ApiKey }>(REVOKE_API_KEY);
  const refresh = (): void => reexecute({ requestPolicy: 'network-only' });

  if (!can.manageOrg) {
    return (
      <>
        <PageHeader title="API keys" />
        <Notice>Only admin keys can list and manage API keys. You are signed in with a {viewer.role.toLowerCase()} key.</Notice>
      </>
    );
  }

  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    setGeneral(null);
    if (!name.trim()) {
      setProblems({ name: 'Name the key after who or what uses it, e.g. "Grafana dashboard".' });
      return;
    }
    setProblems({});
    const outcome = await create({ name: name.trim(), role });
    if (outcome.error) {
      const fields = fieldProblems(outcome.error);
      setProblems(fields);
      if (errorCode(outcome.error) !== 'BAD_USER_INPUT' || !(fields.name || fields.role)) setGeneral(errorMessage(outcome.error));
      return;
    }
    if (outcome.data) {
      setNewKey(outcome.data.createApiKey);
      setName('');
      refresh();
    }
  };

  const keys = result.data?.apiKeys.edges.map((e) => e.node) ?? [];
  // The API refuses to revoke the last admin key (nobody could manage the organization after it):
  // say so before the click. Only when the whole list is loaded can the count be trusted.
  const activeAdmins = keys.filter((k) => k.role === 'ADMIN' && !k.revokedAt).length;
  const lastAdmin = revoking?.role === 'ADMIN' && !revoking.revokedAt && activeAdmins <= 1 && !result.data?.apiKeys.pageInfo.hasNextPage;
  const columns: Column<ApiKey>[] = [
    {
      key: 'name',
      header: 'Name',
      className: 'cell-main',
      render: (k) => (
        <span className="stack-xs">
          <strong>{k.name}</strong>
          <code className="small muted">{k.keyPrefix}…</code>
        </span>
      ),
    },
    { key: 'role', header: 'Role', render: (k) => <Badge tone={k.role === 'ADMIN' ? 'accent' : 'neutral'}>{k.role.toLowerCase()}</Badge> },
    { key: 'created', header: 'Created', render: (k) => <Time value={k.createdAt} /> },
    { key: 'used', header: 'Last used', render: (k) => (k.lastUsedAt ? <Time value={k.lastUsedAt} /> : <span className="muted">Never</span>) },
    {
      key: 'state',
      header: 'State',
      render: (k) => (k.revokedAt ? <Badge tone="danger">Revoked</Badge> : <Badge tone="success">Active</Badge>),
    },
    {
      key: 'actions',
      header: 'Actions',
      render: (k) =>
        k.revokedAt ? null : (
          <Button size="sm" variant="danger" onClick={() => setRevoking(k)} aria-label={`Revoke API key ${k.name}`}>
            Revoke
          </Button>
        ),
    },
  ];

  return (
    <>
      <PageHeader title="API keys" description="Keys for people and systems that use the API or this console. A key is shown only once, when it is created." />
      {newKey && (
        <SecretBox label="New API key" secret={newKey.key} onDismiss={() => setNewKey(null)}>
          <p className="muted">
            “{newKey.apiKey.name}” ({newKey.apiKey.role.toLowerCase()}). Send it as <code>Authorization: Bearer …</code>.
          </p>
        </SecretBox>
      )}
      <form className="card form" onSubmit={submit} noValidate aria-label="Create an API key">
        <h2 className="card__title">Create a key</h2>
        {general && (
          <div className="alert alert--danger" role="alert">
            {general}
          </div>
        )}
        <div className="form-grid">
          <Field label="Key name" name="name" error={problems.name}>
            {(p) => <input {...p} value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. Grafana dashboard" />}
          </Field>
          <Field label="Role" name="role" error={problems.role} hint={ROLES.find((r) => r.role === role)?.detail}>
            {(p) => (
              <select {...p} value={role} onChange={(e) => setRole(e.target.value as ApiKeyRole)}>
                {ROLES.map((r) => (
                  <option key={r.role} value={r.role}>
                    {r.label}
                  </option>
                ))}
              </select>
            )}
          </Field>
        </div>
        <div className="form-actions">
          <Button type="submit" variant="primary" busy={creation.fetching} busyLabel="Creating…">
            Create API key
          </Button>
        </div>
      </form>
      {revocation.error && <ErrorMessage error={revocation.error} />}
      {result.error && !result.data && <ErrorMessage error={result.error} onRetry={refresh} />}
      {result.fetching && !result.data && <Loading label="Loading API keys…" />}
      {result.data && keys.length === 0 && <EmptyState title="No API keys">Create one above.</EmptyState>}
      {keys.length > 0 && <DataTable caption="API keys" columns={columns} rows={keys} rowKey={(k) => k.id} />}
      <ConfirmDialog
        open={revoking !== null}
        title="Revoke this API key?"
        confirmLabel="Revoke key"
        tone="danger"
        busy={revocation.fetching}
        confirmDisabled={lastAdmin}
        onCancel={() => setRevoking(null)}
        onConfirm={async () => {
          if (!revoking) return;
          const own = revoking.id === viewer.apiKeyId;
          const outcome = await revoke({ id: revoking.id });
          setRevoking(null);
          if (!outcome.error && own) logout('You revoked the key you were signed in with.');
          else refresh();
        }}
      >
        {lastAdmin && (
          <Notice tone="warning" title="This is the last admin key">
            Without an admin key nobody can change endpoints, signing keys or API keys, so it cannot be revoked. Create another admin key first, then revoke this one.
          </Notice>
        )}
        <p>
          “{revoking?.name}” stops working immediately; anything using it gets UNAUTHENTICATED.
          {revoking?.id === viewer.apiKeyId && <strong> This is the key you are signed in with: you will be signed out.</strong>}
        </p>
      </ConfirmDialog>
    </>
  );
}
