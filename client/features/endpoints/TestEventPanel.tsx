import { useMutation } from 'urql';
import { formatDuration } from '../../shared/format';
import { Link } from '../../shared/router';
import { usePermissions } from '../../shared/session';
import { AttemptOutcomeBadge, Button, CodeBlock, DescriptionList, ErrorMessage, Section, Time } from '../../shared/ui';
import { SEND_TEST_EVENT, type TestAttempt } from './queries';

/** "Send test event": one webhook.test request now, and what came back. */
export function TestEventPanel({ id }: { id: string }) {
  const can = usePermissions();
  const [result, send] = useMutation<{ sendTestEvent: TestAttempt }>(SEND_TEST_EVENT);
  if (!can.operate) return null;
  const attempt = result.data?.sendTestEvent;
  return (
    <Section
      title="Test event"
      description="Sends a webhook.test event right now, ignoring subscriptions, pausing and the circuit breaker."
      actions={
        <Button variant="primary" onClick={() => send({ endpointId: id })} busy={result.fetching} busyLabel="Sending…">
          Send test event
        </Button>
      }
    >
      {result.error && <ErrorMessage error={result.error} />}
      {attempt && !result.fetching && (
        <div className="test-result" role="status" aria-label="Test event result">
          <DescriptionList
            items={[
              ['Result', <AttemptOutcomeBadge succeeded={attempt.succeeded} responseStatus={attempt.responseStatus} errorClass={attempt.errorClass} />],
              ['HTTP status', attempt.responseStatus ?? 'No response'],
              ['Latency', formatDuration(attempt.durationMs)],
              attempt.errorClass ? ['Error class', <code>{attempt.errorClass}</code>] : null,
              attempt.errorMessage ? ['Error', attempt.errorMessage] : null,
              ['Sent', <Time value={attempt.startedAt} />],
              ['Delivery', <Link to={`/deliveries/${attempt.delivery.id}`}>View the delivery</Link>],
            ]}
          />
          {attempt.responseBody && <CodeBlock label="Response body">{attempt.responseBody}</CodeBlock>}
        </div>
      )}
    </Section>
  );
}
