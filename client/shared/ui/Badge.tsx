import type { ReactNode } from 'react';

export type Tone = 'success' | 'danger' | 'warning' | 'info' | 'neutral' | 'accent';

export function Badge({ tone = 'neutral', children, title }: { tone?: Tone; children: ReactNode; title?: string }) {
  return (
    <span className={`badge badge--${tone}`} title={title}>
      {children}
    </span>
  );
}

const STATUS_TONES: Record<string, Tone> = {
  SUCCEEDED: 'success',
  DEAD: 'danger',
  PENDING: 'warning',
  CANCELLED: 'neutral',
};

const STATUS_LABELS: Record<string, string> = {
  SUCCEEDED: 'Succeeded',
  DEAD: 'Dead',
  PENDING: 'Pending',
  CANCELLED: 'Cancelled',
};

/** A delivery's status: Succeeded, Pending (retrying), Dead (dead letter), Cancelled. */
export function DeliveryStatusBadge({ status }: { status: string }) {
  return <Badge tone={STATUS_TONES[status] ?? 'neutral'}>{STATUS_LABELS[status] ?? status}</Badge>;
}

/** One attempt's outcome: "200 OK"-style success, or the failure class. */
export function AttemptOutcomeBadge({ succeeded, responseStatus, errorClass }: { succeeded: boolean; responseStatus?: number | null; errorClass?: string | null }) {
  if (succeeded) return <Badge tone="success">{responseStatus ? `Success · ${responseStatus}` : 'Success'}</Badge>;
  const detail = errorClass === 'HTTP_STATUS' && responseStatus ? `HTTP ${responseStatus}` : (errorClass ?? (responseStatus ? `HTTP ${responseStatus}` : 'Error'));
  return <Badge tone="danger">{`Failed · ${detail}`}</Badge>;
}
