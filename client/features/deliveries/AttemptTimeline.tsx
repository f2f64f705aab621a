import { formatDateTime, formatDuration, prettyJson } from '../../shared/format';
import { AttemptOutcomeBadge, Badge, CodeBlock, DescriptionList } from '../../shared/ui';
import type { Attempt } from './queries';

function headerText(headers: Record<string, unknown> | null | undefined): string {
  if (!headers) return '';
  return Object.entries(headers)
    .map(([name, value]) => `${name}: ${Array.isArray(value) ? value.join(', ') : String(value)}`)
    .join('\n');
}

/** Every attempt, oldest first; the latest one is expanded with its request and response. */
export function AttemptTimeline({ attempts }: { attempts: Attempt[] }) {
  return (
    <ol className="timeline" aria-label="Attempts">
      {attempts.map((a, i) => (
        <li key={a.id} className={`timeline__item${a.succeeded ? ' timeline__item--ok' : ' timeline__item--failed'}`}>
          <details open={i === attempts.length - 1}>
            <summary>
              <span className="timeline__title">
                Attempt {a.attemptNumber}
                {a.trigger !== 'SCHEDULED' && (
                  <>
                    {' '}
                    <Badge tone="info">{a.trigger.toLowerCase()}</Badge>
                  </>
                )}
              </span>
              <AttemptOutcomeBadge succeeded={a.succeeded} responseStatus={a.responseStatus} errorClass={a.errorClass} />
              <span className="muted small">
                {formatDateTime(a.startedAt)} · {formatDuration(a.durationMs)}
              </span>
            </summary>
            <div className="timeline__body">
              <DescriptionList
                items={[
                  ['Response status', a.responseStatus ?? 'No response'],
                  ['Duration', formatDuration(a.durationMs)],
                  a.errorClass ? ['Error class', <code>{a.errorClass}</code>] : null,
                  a.errorMessage ? ['Error', a.errorMessage] : null,
                ]}
              />
              <h4>Request headers</h4>
              <CodeBlock label={`Request headers of attempt ${a.attemptNumber}`}>{headerText(a.requestHeaders) || '(none recorded)'}</CodeBlock>
              {a.responseHeaders && (
                <>
                  <h4>Response headers</h4>
                  <CodeBlock label={`Response headers of attempt ${a.attemptNumber}`}>{headerText(a.responseHeaders)}</CodeBlock>
                </>
              )}
              <h4>Response body</h4>
              {a.responseBody ? (
                <CodeBlock label={`Response body of attempt ${a.attemptNumber}`}>{prettyJson(a.responseBody)}</CodeBlock>
              ) : (
                <p className="muted small">{a.responseStatus == null ? 'No response was received.' : 'Empty body.'}</p>
              )}
              <p className="muted small">The first 4 KiB of the response body are kept.</p>
            </div>
          </details>
        </li>
      ))}
    </ol>
  );
}
