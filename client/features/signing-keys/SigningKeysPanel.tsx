import { useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { errorMessage } from '../../shared/errors';
import { formatSeconds } from '../../shared/format';
import { usePermissions, useSession } from '../../shared/session';
import { Badge, Button, ConfirmDialog, CopyButton, Dialog, EmptyState, ErrorMessage, Field, Loading, Notice, SecretBox, Section, Time } from '../../shared/ui';
import { REVOKE_SIGNING_KEY, ROTATE_SIGNING_KEY, SIGNING_KEYS_QUERY, type SigningAlgorithm, type SigningKey } from './queries';

const GRACE_PERIODS = [0, 3_600, 86_400, 7 * 86_400, 30 * 86_400];

/**
 * The key the endpoint signs with now (no end date, and of the endpoint's algorithm): it cannot
 * be revoked, only replaced by a rotation, so the panel offers rotation instead.
 */
export function isCurrentKey(k: SigningKey, algorithm: SigningAlgorithm | undefined): boolean {
  return !k.revokedAt && k.usable && k.expiresAt === null && k.algorithm === algorithm;
}

/** The API's refusal to revoke a current key names API arguments; say it in the console's terms. */
function revocationMessage(message: string): string {
  if (/signing key endpoint .* uses now|current Ed25519 key/.test(message)) {
    return 'This key signs the endpoint’s requests now, so revoking it would leave the endpoint unable to sign. Rotate the key first (grace period “None” stops the old key at once).';
  }
  return message;
}

function keyState(k: SigningKey): { label: string; tone: 'success' | 'warning' | 'neutral' | 'danger' } {
  if (k.revokedAt) return { label: 'Revoked', tone: 'danger' };
  if (!k.usable) return { label: 'Expired', tone: 'neutral' };
  if (k.expiresAt) return { label: 'Grace period', tone: 'warning' };
  return { label: 'Signing', tone: 'success' };
}

/**
 * The keys that sign this endpoint's requests: rotate (new secret shown once), revoke, the
 * Ed25519 public key and the organization's JWKS URL.
 */
export function SigningKeysPanel({ endpointId, onRotated }: { endpointId: string; onRotated?: () => void }) {
  const { viewer } = useSession();
  const can = usePermissions();
  const [result, reexecute] = useQuery<{ signingKeys: SigningKey[]; endpoint: { id: string; signingAlgorithm: SigningAlgorithm } }>({
    query: SIGNING_KEYS_QUERY,
    variables: { endpointId },
  });
  const [rotateOpen, setRotateOpen] = useState(false);
  const [algorithm, setAlgorithm] = useState<SigningAlgorithm>('HMAC_SHA256');
  const [grace, setGrace] = useState(86_400);
  const [rotation, rotate] = useMutation<{ rotateSigningKey: { secret: string | null; signingKey: SigningKey } }>(ROTATE_SIGNING_KEY);
  const [revocation, revoke] = useMutation<{ revokeSigningKey: SigningKey }>(REVOKE_SIGNING_KEY);
  const [newSecret, setNewSecret] = useState<string | null>(null);
  const [switchedToEd25519, setSwitchedToEd25519] = useState(false);
  const [revoking, setRevoking] = useState<SigningKey | null>(null);
  // The last failed action; any later success clears it (a stale error next to a working key misleads).
  const [actionError, setActionError] = useState<string | null>(null);

  const jwksUrl = `${window.location.origin}/orgs/${encodeURIComponent(viewer.org.id)}/jwks.json`;
  const keys = result.data?.signingKeys ?? [];
  const current = result.data?.endpoint.signingAlgorithm;
  const refresh = (): void => reexecute({ requestPolicy: 'network-only' });

  const openRotate = (): void => {
    setAlgorithm(current ?? 'HMAC_SHA256');
    setGrace(86_400);
    setRotateOpen(true);
  };

  const doRotate = async (): Promise<void> => {
    const outcome = await rotate({ endpointId, algorithm, gracePeriodSeconds: grace });
    if (outcome.error) return;
    setActionError(null);
    setRotateOpen(false);
    setNewSecret(outcome.data?.rotateSigningKey.secret ?? null);
    setSwitchedToEd25519(!outcome.data?.rotateSigningKey.secret);
    refresh();
    onRotated?.();
  };

  const renderKey = (k: SigningKey) => {
    const state = keyState(k);
    return (
      <li key={k.id} className="key-item" aria-label={`Key ${k.id}`}>
        <div className="key-item__head">
          <code className="break">{k.id}</code>
          <Badge tone="neutral">{k.algorithm === 'ED25519' ? 'Ed25519' : 'HMAC-SHA256'}</Badge>
          <Badge tone={state.tone}>{state.label}</Badge>
          {can.manageSettings && !k.revokedAt && k.usable && isCurrentKey(k, current) && (
            <span className="muted small key-item__action" title="The key signing now cannot be revoked: rotate to replace it.">
              Rotate to replace
            </span>
          )}
          {can.manageSettings && !k.revokedAt && k.usable && !isCurrentKey(k, current) && (
            <Button size="sm" variant="danger" className="key-item__action" onClick={() => setRevoking(k)} aria-label={`Revoke key ${k.id}`}>
              Revoke
            </Button>
          )}
        </div>
        <div className="muted small">
          Created <Time value={k.createdAt} />
          {k.expiresAt && !k.revokedAt && (
            <>
              {' · '}
              {k.usable ? 'signs until' : 'stopped'} <Time value={k.expiresAt} />
            </>
          )}
          {k.revokedAt && (
            <>
              {' · '}revoked <Time value={k.revokedAt} />
            </>
          )}
        </div>
        {k.publicKey ? (
          <div className="key-line">
            <code className="break small key-line__value" aria-label="Public key">
              {k.publicKey}
            </code>
            <CopyButton value={k.publicKey} label={`Copy public key ${k.id}`} />
          </div>
        ) : (
          <div className="muted small">The secret is shown only when it is created.</div>
        )}
      </li>
    );
  };

  return (
    <Section
      title="Signing keys"
      description={current === 'ED25519' ? "Signs with the organization's Ed25519 key pair (v1a)." : "Signs with this endpoint's HMAC secret (v1)."}
      actions={
        can.manageSettings ? (
          <Button variant="primary" onClick={openRotate}>
            Rotate key
          </Button>
        ) : null
      }
    >
      {newSecret && (
        <SecretBox label="New signing secret" secret={newSecret} onDismiss={() => setNewSecret(null)}>
          <p className="muted">Requests carry signatures from both the old and the new secret during the grace period, so update your receiver now.</p>
        </SecretBox>
      )}
      {switchedToEd25519 && !newSecret && (
        <Notice tone="success" title="Rotated">
          This endpoint now signs with an Ed25519 key. Receivers verify with the public key below or the JWKS; there is no secret to store.
        </Notice>
      )}
      {result.error && !result.data && <ErrorMessage error={result.error} onRetry={refresh} />}
      {result.fetching && !result.data && <Loading label="Loading signing keys…" />}
      {result.data && keys.length === 0 && <EmptyState title="No signing keys">Rotate to create one.</EmptyState>}
      {keys.length > 0 && (
        <ul className="key-list" aria-label="Signing keys">
          {keys.map(renderKey)}
        </ul>
      )}
      {actionError && <ErrorMessage message={actionError} title="The key was not revoked" />}
      <p className="small">
        Public keys of the organization (JWKS):{' '}
        <a href={jwksUrl} target="_blank" rel="noreferrer" className="break">
          {jwksUrl}
        </a>
      </p>

      <Dialog
        open={rotateOpen}
        title="Rotate signing key"
        onClose={() => setRotateOpen(false)}
        footer={
          <>
            <Button onClick={() => setRotateOpen(false)} disabled={rotation.fetching}>
              Cancel
            </Button>
            <Button variant="primary" onClick={doRotate} busy={rotation.fetching} busyLabel="Rotating…">
              Rotate
            </Button>
          </>
        }
      >
        <div className="stack">
          <Field label="Algorithm">
            {(p) => (
              <select {...p} value={algorithm} onChange={(e) => setAlgorithm(e.target.value as SigningAlgorithm)}>
                <option value="HMAC_SHA256">HMAC-SHA256 (new endpoint secret)</option>
                <option value="ED25519">Ed25519 (organization key pair)</option>
              </select>
            )}
          </Field>
          {algorithm === 'ED25519' && current === 'ED25519' && (
            <Notice tone="warning" title="This rotates the organization's key pair">
              Every endpoint that signs with Ed25519 gets the new key. Receivers that read the JWKS pick it up automatically.
            </Notice>
          )}
          {algorithm === 'HMAC_SHA256' && current === 'ED25519' && <Notice>The endpoint switches from Ed25519 to its own HMAC secret.</Notice>}
          <Field label="Grace period" hint="How long the previous key keeps signing alongside the new one.">
            {(p) => (
              <select {...p} value={grace} onChange={(e) => setGrace(Number(e.target.value))}>
                {GRACE_PERIODS.map((g) => (
                  <option key={g} value={g}>
                    {g === 0 ? 'None: stop the old key now' : formatSeconds(g)}
                  </option>
                ))}
              </select>
            )}
          </Field>
          {rotation.error && <ErrorMessage error={rotation.error} />}
        </div>
      </Dialog>

      <ConfirmDialog
        open={revoking !== null}
        title="Revoke this key?"
        confirmLabel="Revoke key"
        tone="danger"
        busy={revocation.fetching}
        onCancel={() => setRevoking(null)}
        onConfirm={async () => {
          if (!revoking) return;
          const outcome = await revoke({ id: revoking.id });
          setActionError(outcome.error ? revocationMessage(errorMessage(outcome.error)) : null);
          setRevoking(null);
          refresh();
        }}
      >
        <p>
          <code>{revoking?.id}</code> stops signing immediately; receivers that still rely on it will reject requests. The key an endpoint currently
          signs with cannot be revoked: rotate first.
        </p>
      </ConfirmDialog>
    </Section>
  );
}
