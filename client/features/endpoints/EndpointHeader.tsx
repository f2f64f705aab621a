import { useState } from 'react';
import { useMutation } from 'urql';
import { Link, navigate } from '../../shared/router';
import { usePermissions } from '../../shared/session';
import { Badge, Button, ConfirmDialog, ErrorMessage, Loading, PageHeader, PlanNotice, Time } from '../../shared/ui';
import { HealthBadge, healthOf } from './HealthBadge';
import { DELETE_ENDPOINT, PAUSE_ENDPOINT, RESUME_ENDPOINT } from './queries';
import { useEndpoint } from './useEndpoint';
import { useHealthChanges } from './useHealthChanges';

/** Title, health and the endpoint-level actions each role may take (edit, pause/resume, delete). */
export function EndpointHeader({ id }: { id: string }) {
  const can = usePermissions();
  const { endpoint, error, refetch } = useEndpoint(id);
  const [pauseResult, pause] = useMutation(PAUSE_ENDPOINT);
  const [resumeResult, resume] = useMutation(RESUME_ENDPOINT);
  const [deleteResult, remove] = useMutation(DELETE_ENDPOINT);
  const [confirm, setConfirm] = useState<'pause' | 'delete' | null>(null);
  useHealthChanges(id, refetch);

  const back = <Link to="/endpoints">← Endpoints</Link>;
  if (!endpoint) {
    return (
      <>
        <PageHeader title="Endpoint" back={back} />
        {error ? <ErrorMessage error={error} onRetry={refetch} /> : <Loading label="Loading the endpoint…" />}
      </>
    );
  }
  const health = healthOf(endpoint);
  const actionError = pauseResult.error ?? resumeResult.error ?? deleteResult.error;

  return (
    <>
      <PageHeader
        back={back}
        documentTitle={endpoint.description ? `${endpoint.description} (endpoint)` : `Endpoint ${endpoint.url}`}
        title={<span className="break">{endpoint.url}</span>}
        description={
          <span className="header-meta">
            <HealthBadge endpoint={endpoint} />
            {endpoint.uid && (
              <code className="muted small" title="uid: the name integrators give this endpoint">
                uid {endpoint.uid}
              </code>
            )}
            {endpoint.circuitState !== 'CLOSED' && endpoint.active && (
              <span className="muted small">
                {endpoint.consecutiveFailures} consecutive failures{endpoint.circuitOpenUntil ? <> · next probe <Time value={endpoint.circuitOpenUntil} /></> : null}
              </span>
            )}
            {!endpoint.active && <span className="muted small">{health.detail}</span>}
            {(health.status === 'FAILING' || health.status === 'DEGRADED') && <span className="small">{health.detail}</span>}
            {endpoint.labels.map((l) => (
              <Badge key={l} tone="accent">
                {l}
              </Badge>
            ))}
            {endpoint.description && <span className="muted">{endpoint.description}</span>}
          </span>
        }
        actions={
          <>
            {can.operate &&
              (endpoint.active ? (
                <Button onClick={() => setConfirm('pause')} busy={pauseResult.fetching} busyLabel="Pausing…">
                  Pause
                </Button>
              ) : (
                <Button variant="primary" onClick={() => resume({ id })} busy={resumeResult.fetching} busyLabel="Resuming…">
                  Resume
                </Button>
              ))}
            {can.manageSettings && (
              <Link to={`/endpoints/${id}/edit`} className="btn btn--secondary">
                Edit
              </Link>
            )}
            {can.manageSettings && (
              <Button variant="danger" onClick={() => setConfirm('delete')}>
                Delete
              </Button>
            )}
          </>
        }
      />
      <PlanNotice what="operations" />
      {actionError && <ErrorMessage error={actionError} />}
      <ConfirmDialog
        open={confirm === 'pause'}
        title="Pause this endpoint?"
        confirmLabel="Pause endpoint"
        busy={pauseResult.fetching}
        onCancel={() => setConfirm(null)}
        onConfirm={async () => {
          await pause({ id });
          setConfirm(null);
        }}
      >
        <p>Deliveries stop until you resume it; its backlog waits. New events are not routed to it while it is paused.</p>
      </ConfirmDialog>
      <ConfirmDialog
        open={confirm === 'delete'}
        title="Delete this endpoint?"
        confirmLabel="Delete endpoint"
        tone="danger"
        busy={deleteResult.fetching}
        onCancel={() => setConfirm(null)}
        onConfirm={async () => {
          const outcome = await remove({ id });
          setConfirm(null);
          if (!outcome.error) navigate('/endpoints');
        }}
      >
        <p>
          <strong>{endpoint.url}</strong> stops receiving events and its pending deliveries are cancelled. Its delivery history stays readable.
        </p>
      </ConfirmDialog>
    </>
  );
}
