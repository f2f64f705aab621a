import { useState } from 'react';
import { prettyJson } from '../../shared/format';
import { CodeBlock, CopyButton, DescriptionList, Section, Time } from '../../shared/ui';
import { buildCurl } from './curl';
import type { Attempt, DeliveryDetailData } from './queries';

function headerLines(headers: Record<string, unknown>): string {
  return Object.entries(headers)
    .map(([name, value]) => `${name}: ${Array.isArray(value) ? value.join(', ') : String(value)}`)
    .join('\n');
}

/**
 * The request as it was sent for one attempt: method and URL, the headers as sent (custom header
 * values masked by the server), the exact body (the envelope, byte for byte), and "Copy as curl".
 * Only for roles that may read payloads; the page shows nothing of it to viewers.
 */
export function RequestPanel({ delivery }: { delivery: DeliveryDetailData }) {
  const attempts = delivery.attempts;
  const [selected, setSelected] = useState<string | null>(null);
  const attempt: Attempt | undefined = attempts.find((a) => a.id === selected) ?? attempts[attempts.length - 1];
  // A transformation may have sent another body than the envelope: the attempt recorded it.
  const body = attempt?.requestBody ?? delivery.requestBody;
  const label = attempt ? `Attempt ${attempt.attemptNumber} of delivery ${delivery.id}` : `Delivery ${delivery.id}`;
  const curl =
    attempt && body !== null
      ? buildCurl({ url: delivery.endpoint.url, headers: attempt.requestHeaders, body, algorithm: delivery.endpoint.signingAlgorithm, label: `${label}, sent again to the receiver.` })
      : null;
  return (
    <Section
      title="Request"
      description="What the receiver got: the envelope (or what the endpoint’s transformation made of it), with fresh webhook-timestamp and signature headers each attempt."
      actions={
        attempts.length > 1 ? (
          <label className="toolbar__field toolbar__field--inline">
            <span>Attempt</span>
            <select value={attempt?.id ?? ''} onChange={(e) => setSelected(e.target.value)}>
              {attempts.map((a) => (
                <option key={a.id} value={a.id}>
                  #{a.attemptNumber}
                </option>
              ))}
            </select>
          </label>
        ) : null
      }
    >
      <DescriptionList
        items={[
          ['Method and URL', <code className="break">POST {delivery.endpoint.url}</code>],
          attempt ? ['Sent', <Time value={attempt.startedAt} mode="absolute" />] : null,
        ]}
      />
      {attempt ? (
        <>
          <h4>Headers as sent</h4>
          <CodeBlock label={`Request headers of attempt ${attempt.attemptNumber}`}>{headerLines(attempt.requestHeaders) || '(none recorded)'}</CodeBlock>
          <p className="muted small">Custom header values are kept secret and shown as ••••. The URL is the endpoint’s current one.</p>
        </>
      ) : (
        <p className="muted">Not sent yet: the headers (timestamp and signature) are made for each attempt.</p>
      )}
      <h4>Body</h4>
      {body !== null ? (
        <>
          <CodeBlock label="Request body">{body}</CodeBlock>
          <details className="request__pretty">
            <summary>Formatted</summary>
            <CodeBlock label="Request body, formatted">{prettyJson(body)}</CodeBlock>
          </details>
        </>
      ) : delivery.event.payloadPurgedAt ? (
        <p className="muted">
          The body is gone: the payload was purged after the retention period (<Time value={delivery.event.payloadPurgedAt} mode="absolute" />). The headers above
          are still as they were sent.
        </p>
      ) : (
        <p className="muted">The body is not available.</p>
      )}
      {curl && (
        <div className="request__curl">
          <div className="request__curl-head">
            <h4>Copy as curl</h4>
            <CopyButton value={curl} label="Copy as curl" />
          </div>
          <CodeBlock label="curl command">{curl}</CodeBlock>
        </div>
      )}
    </Section>
  );
}
