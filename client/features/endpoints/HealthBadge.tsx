import { Badge } from '../../shared/ui';
import type { CircuitState } from './queries';

/** Paused by hand, disabled (410 Gone, open too long), circuit open or probing, or healthy. */
export function healthOf(e: { active: boolean; disabledReason: string | null; circuitState: CircuitState }): {
  label: string;
  tone: 'success' | 'danger' | 'warning' | 'neutral';
  detail: string;
} {
  if (!e.active) {
    const paused = e.disabledReason?.startsWith('Paused') ?? !e.disabledReason;
    return paused
      ? { label: 'Paused', tone: 'neutral', detail: e.disabledReason ?? 'Paused by hand; resume to deliver the backlog.' }
      : { label: 'Disabled', tone: 'danger', detail: e.disabledReason ?? 'Disabled.' };
  }
  if (e.circuitState === 'OPEN') return { label: 'Circuit open', tone: 'danger', detail: 'Too many consecutive failures: deliveries wait for the next probe.' };
  if (e.circuitState === 'HALF_OPEN') return { label: 'Probing', tone: 'warning', detail: 'The circuit is half open: one probe request decides whether it closes.' };
  return { label: 'Healthy', tone: 'success', detail: 'Active, circuit closed.' };
}

export function HealthBadge({ endpoint }: { endpoint: { active: boolean; disabledReason: string | null; circuitState: CircuitState } }) {
  const health = healthOf(endpoint);
  return (
    <Badge tone={health.tone} title={health.detail}>
      {health.label}
    </Badge>
  );
}
