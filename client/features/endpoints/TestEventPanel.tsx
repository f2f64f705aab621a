import { useId, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { errorCode, fieldProblems } from '../../shared/errors';
import { formatDuration } from '../../shared/format';
import { Link } from '../../shared/router';
import { usePermissions } from '../../shared/session';
import { AttemptOutcomeBadge, Button, CodeBlock, DescriptionList, ErrorMessage, Field, Section, Time } from '../../shared/ui';
import { SEND_TEST_EVENT, TEST_EVENT_TYPES_QUERY, type TestAttempt, type TestEventType } from './queries';
import { examplePayload, parsePayload } from './testPayload';

const DEFAULT_TYPE = 'webhook.test';

/**
 * "Send test event": any type of the catalog with a payload edited here (checked as JSON in the
 * browser, against the type's JSON Schema by the server), sent to this endpoint now, and what
 * came back.
 */
export function TestEventPanel({ id }: { id: string }) {
  const can = usePermissions();
  const formId = useId();
  const [types] = useQuery<{ eventTypes: { edges: { node: TestEventType }[] } }>({ query: TEST_EVENT_TYPES_QUERY, pause: !can.operate });
  const [result, send] = useMutation<{ sendTestEvent: TestAttempt }>(SEND_TEST_EVENT);
  const [type, setType] = useState(DEFAULT_TYPE);
  const [payload, setPayload] = useState(() => examplePayload(DEFAULT_TYPE, null));
  const [edited, setEdited] = useState(false);
  const [payloadError, setPayloadError] = useState<string | null>(null);
  if (!can.operate) return null;
  const catalog = types.data?.eventTypes.edges.map((e) => e.node) ?? [];
  const selected = catalog.find((t) => t.name === type) ?? null;

  const chooseType = (name: string): void => {
    setType(name);
    setPayloadError(null);
    // A payload the user typed is kept; the sample follows the type until then.
    if (!edited) setPayload(examplePayload(name, catalog.find((t) => t.name === name)?.schema ?? null));
  };

  const submit = async (): Promise<void> => {
    const parsed = parsePayload(payload);
    if (!parsed.ok) {
      setPayloadError(parsed.message);
      return;
    }
    setPayloadError(null);
    const outcome = await send({ endpointId: id, type, data: parsed.data });
    if (outcome.error && errorCode(outcome.error) === 'BAD_USER_INPUT') {
      const problems = fieldProblems(outcome.error);
      setPayloadError(problems.data ?? problems.type ?? null);
    }
  };

  const attempt = result.data?.sendTestEvent;
  const fieldError = payloadError;
  return (
    <Section title="Test event" description="Sends one event to this endpoint now, ignoring subscriptions, pausing and the circuit breaker.">
      <form
        className="test-event"
        id={formId}
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <Field label="Event type" name="type" hint={selected?.description || undefined}>
          {(p) => (
            <select {...p} value={type} onChange={(e) => chooseType(e.target.value)}>
              {!catalog.some((t) => t.name === DEFAULT_TYPE) && <option value={DEFAULT_TYPE}>{DEFAULT_TYPE}</option>}
              {catalog.map((t) => (
                <option key={t.id} value={t.name}>
                  {t.name}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field
          label="Payload (JSON)"
          name="data"
          error={fieldError}
          hint={selected?.schema ? 'Checked against the type’s JSON Schema before it is sent.' : 'Any JSON object; this type has no schema.'}
        >
          {(p) => (
            <textarea
              {...p}
              className="mono"
              rows={Math.min(14, Math.max(5, payload.split('\n').length + 1))}
              spellCheck={false}
              value={payload}
              onChange={(e) => {
                setPayload(e.target.value);
                setEdited(true);
                setPayloadError(null);
              }}
            />
          )}
        </Field>
        <div className="form-actions">
          <Button type="submit" variant="primary" busy={result.fetching} busyLabel="Sending…">
            Send test event
          </Button>
          {edited && (
            <Button
              variant="ghost"
              onClick={() => {
                setEdited(false);
                setPayload(examplePayload(type, selected?.schema ?? null));
                setPayloadError(null);
              }}
            >
              Reset the payload
            </Button>
          )}
        </div>
      </form>
      {result.error && !fieldError && <ErrorMessage error={result.error} />}
      {attempt && !result.fetching && (
        <div className="test-result" role="status" aria-label="Test event result">
          <DescriptionList
            items={[
              ['Result', <AttemptOutcomeBadge succeeded={attempt.succeeded} responseStatus={attempt.responseStatus} errorClass={attempt.errorClass} />],
              ['Event type', <code>{attempt.delivery.eventType}</code>],
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
