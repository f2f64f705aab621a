import { CircuitPanel, EndpointHeader, EndpointSettings, EndpointStats, TestEventPanel, useEndpoint } from '../features/endpoints';
import { LiveAttempts } from '../features/live';
import { SigningKeysPanel } from '../features/signing-keys';
import { errorCode } from '../shared/errors';
import { Link } from '../shared/router';
import { EmptyState, PageHeader } from '../shared/ui';

/**
 * Assembles the endpoint detail from its features (they never import each other). Nothing but the
 * header shows until the endpoint is loaded: an unknown or deleted id is one "not found" page,
 * with no live stream and no buttons that cannot work.
 */
export function EndpointDetailPage({ id }: { id: string }) {
  const { endpoint, error } = useEndpoint(id);
  if (!endpoint && errorCode(error) === 'NOT_FOUND') return <EndpointNotFound id={id} />;
  if (!endpoint) return <EndpointHeader id={id} />;
  return (
    <>
      <EndpointHeader id={id} />
      <div className="detail-grid">
        <div className="detail-grid__main">
          <CircuitPanel id={id} />
          <EndpointStats id={id} />
          <TestEventPanel id={id} />
          <LiveAttempts endpointId={id} />
          <p>
            <Link to={`/deliveries?endpoint=${encodeURIComponent(id)}`}>All deliveries to this endpoint →</Link>{' '}
            <Link to={`/dead-letters?endpoint=${encodeURIComponent(id)}`}>Dead letters →</Link>
          </p>
        </div>
        <div className="detail-grid__side">
          <SigningKeysPanel endpointId={id} />
          <EndpointSettings id={id} />
        </div>
      </div>
    </>
  );
}

function EndpointNotFound({ id }: { id: string }) {
  return (
    <>
      <PageHeader title="Endpoint not found" back={<Link to="/endpoints">← Endpoints</Link>} />
      <EmptyState title="There is no endpoint with this id in your organization" action={<Link to="/endpoints">Go to endpoints</Link>}>
        <p>
          <code className="break">{id}</code> does not exist, was deleted, or belongs to another organization. The history of a deleted endpoint stays readable:{' '}
          <Link to={`/deliveries?endpoint=${encodeURIComponent(id)}`}>its deliveries</Link>.
        </p>
      </EmptyState>
    </>
  );
}
