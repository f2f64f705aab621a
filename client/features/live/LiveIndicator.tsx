import { useLiveStatus } from '../../shared/liveStatus';

const LABELS = {
  idle: 'Idle',
  connecting: 'Connecting…',
  connected: 'Live',
  reconnecting: 'Reconnecting…',
  closed: 'Disconnected',
} as const;

/** The state of the live connection, announced politely when it changes. */
export function LiveIndicator({ paused }: { paused?: boolean }) {
  const status = useLiveStatus();
  const state = paused && status === 'connected' ? 'paused' : status;
  return (
    <span className={`live-indicator live-indicator--${state}`} role="status" aria-live="polite">
      <span className="live-indicator__dot" aria-hidden="true" />
      {paused && status === 'connected' ? 'Paused' : LABELS[status]}
    </span>
  );
}
