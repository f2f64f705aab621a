import { formatCount, formatDuration, formatSeconds } from '../../shared/format';
import { usePermissions } from '../../shared/session';
import { DescriptionList, Section, Time } from '../../shared/ui';
import { contentSettingsRows } from './ContentSettings';
import { useEndpoint } from './useEndpoint';

/** Every setting of the endpoint, read-only (the edit page changes them). */
export function EndpointSettings({ id }: { id: string }) {
  const { endpoint } = useEndpoint(id);
  const can = usePermissions();
  if (!endpoint) return null;
  const r = endpoint.retryPolicy;
  const b = endpoint.circuitBreaker;
  return (
    <Section title="Settings">
      <DescriptionList
        items={[
          ['URL', <span className="break mono">{endpoint.url}</span>],
          [
            'Event types',
            endpoint.eventSubscriptions.length ? (
              <span className="chips">
                {endpoint.eventSubscriptions.map((s) => (
                  <code key={s.pattern} className="chip">
                    {s.pattern}
                  </code>
                ))}
              </span>
            ) : (
              <span className="muted">None: this endpoint receives no events.</span>
            ),
          ],
          ['Signing', endpoint.signingAlgorithm === 'ED25519' ? 'Ed25519 (organization key pair)' : 'HMAC-SHA256 (endpoint secret)'],
          ['Timeout', formatDuration(endpoint.timeoutMs)],
          ['Retries', `${r.maxAttempts} attempts; backoff ${formatSeconds(r.initialBackoffSeconds)} × ${r.multiplier}, at most ${formatSeconds(r.maxBackoffSeconds)}`],
          ['Circuit breaker', b.enabled ? `Opens after ${b.failureThreshold} consecutive failures; first probe after ${formatSeconds(b.cooldownSeconds)}` : 'Off'],
          ['Concurrency', `${formatCount(endpoint.maxInFlight)} in flight${endpoint.rateLimitPerSecond ? `, at most ${formatCount(endpoint.rateLimitPerSecond)} requests/s` : ', no rate limit'}`],
          ['Ordering', endpoint.orderingMode === 'STRICT' ? 'Strict' : 'Best effort'],
          ...contentSettingsRows(endpoint),
          [
            'Custom headers',
            endpoint.headers.length ? (
              <ul className="plain-list mono small">
                {endpoint.headers.map((h) => (
                  <li key={h.name}>
                    {h.name}: {h.value}
                  </li>
                ))}
              </ul>
            ) : (
              <span className="muted">None</span>
            ),
          ],
          [
            'Mutual TLS',
            endpoint.tls ? (
              <span>
                {endpoint.tls.clientCertificate ? (
                  <>
                    Client certificate <span className="mono small">{endpoint.tls.clientCertificate.subject}</span>, valid until{' '}
                    <Time value={endpoint.tls.clientCertificate.validTo} mode="absolute" />
                  </>
                ) : (
                  'No client certificate'
                )}
                {endpoint.tls.caCertificates.length ? `; ${endpoint.tls.caCertificates.length} trusted CA certificate(s)` : ''}
              </span>
            ) : (
              <span className="muted">Off</span>
            ),
          ],
          ['Created', <Time value={endpoint.createdAt} mode="absolute" />],
          ['Updated', <Time value={endpoint.updatedAt} />],
        ]}
      />
      {!can.seePayloads && endpoint.headers.length > 0 && <p className="muted small">Header values are masked for the viewer role.</p>}
    </Section>
  );
}
