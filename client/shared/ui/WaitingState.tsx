import { waitingFor, type DeliveryFacts, type EndpointFacts } from '../deliveryState';
import { Time } from './Time';

/** "Circuit open · next probe in 4 min", "Retry in 30 s", "Queued"… for a pending delivery; "—" otherwise. */
export function WaitingState({ delivery, endpoint, long = false }: { delivery: DeliveryFacts; endpoint: EndpointFacts | null; long?: boolean }) {
  const waiting = waitingFor(delivery, endpoint);
  if (!waiting) return <span className="muted">—</span>;
  const at = 'at' in waiting ? waiting.at : null;
  return (
    <span className={`waiting waiting--${waiting.kind}`} title={waiting.detail}>
      {waiting.kind === 'retry' ? (
        <Time value={at} />
      ) : (
        <>
          {waiting.label}
          {waiting.kind === 'circuit-open' && at && (
            <>
              {' · next probe '}
              <Time value={at} />
            </>
          )}
        </>
      )}
      {long && <span className="waiting__detail muted small">{waiting.detail}</span>}
    </span>
  );
}
