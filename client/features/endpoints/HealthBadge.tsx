import { Badge } from '../../shared/ui';
import type { EndpointHealth, HealthStatus } from './queries';

const LOOK: Record<HealthStatus, { label: string; tone: 'success' | 'danger' | 'warning' | 'neutral' }> = {
  HEALTHY: { label: 'Healthy', tone: 'success' },
  DEGRADED: { label: 'Degraded', tone: 'warning' },
  FAILING: { label: 'Failing', tone: 'danger' },
  CIRCUIT_OPEN: { label: 'Circuit open', tone: 'danger' },
  PROBING: { label: 'Probing', tone: 'warning' },
  PAUSED: { label: 'Paused', tone: 'neutral' },
  DISABLED: { label: 'Disabled', tone: 'danger' },
};

/** Statuses the endpoints page lists under "Needs attention" (everything but healthy and paused by hand). */
export const NEEDS_ATTENTION: ReadonlySet<HealthStatus> = new Set(['DEGRADED', 'FAILING', 'CIRCUIT_OPEN', 'PROBING', 'DISABLED']);

/** Label, tone and explanation of an endpoint's health (Endpoint.health, computed by the server). */
export function healthOf(e: { health: EndpointHealth }): { label: string; tone: 'success' | 'danger' | 'warning' | 'neutral'; detail: string; status: HealthStatus } {
  const look = LOOK[e.health.status] ?? { label: e.health.status, tone: 'neutral' as const };
  return { ...look, detail: e.health.reason, status: e.health.status };
}

export function HealthBadge({ endpoint }: { endpoint: { health: EndpointHealth } }) {
  const health = healthOf(endpoint);
  return (
    <Badge tone={health.tone} title={health.detail}>
      {health.label}
    </Badge>
  );
}
