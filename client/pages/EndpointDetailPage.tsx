import { EndpointHeader, EndpointSettings, EndpointStats, TestEventPanel } from '../features/endpoints';
import { LiveAttempts } from '../features/live';
import { SigningKeysPanel } from '../features/signing-keys';
import { Link } from '../shared/router';

/** Assembles the endpoint detail from its features (they never import each other). */
export function EndpointDetailPage({ id }: { id: string }) {
  return (
    <>
      <EndpointHeader id={id} />
      <div className="detail-grid">
        <div className="detail-grid__main">
          <TestEventPanel id={id} />
          <EndpointStats id={id} />
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
