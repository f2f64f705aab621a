import { useEffect, useRef, type FormEvent, type ReactNode } from 'react';
import { useQuery } from 'urql';
import { formatSeconds } from '../../shared/format';
import { Button, CheckboxField, Field, Notice } from '../../shared/ui';
import { EventTypePicker } from './EventTypePicker';
import { ContentSection } from './ContentSection';
import { retryDelays, type EndpointFormState, type Problems } from './formModel';
import { fieldLabel } from './formProblems';
import { URL_POLICY_QUERY, type EndpointDetail } from './queries';

type Update = (change: (state: EndpointFormState) => EndpointFormState) => void;

/**
 * Every endpoint setting of SPEC §3 in one form. API problems arrive keyed by field path and are
 * shown under their field; anything unplaceable is listed at the top.
 */
export function EndpointForm({
  mode,
  state,
  update,
  problems,
  unplaced,
  busy,
  onSubmit,
  onCancel,
  existingTls,
}: {
  mode: 'create' | 'edit';
  state: EndpointFormState;
  update: Update;
  problems: Problems;
  unplaced: string[];
  busy: boolean;
  onSubmit: () => void;
  onCancel: () => void;
  existingTls?: EndpointDetail['tls'];
}) {
  const submit = (event: FormEvent): void => {
    event.preventDefault();
    onSubmit();
  };
  const set = <K extends keyof EndpointFormState>(key: K, value: EndpointFormState[K]): void => update((s) => ({ ...s, [key]: value }));
  const delays = retryDelays(state.retryPolicy);
  const problemCount = Object.keys(problems).length + unplaced.length;
  const [policy] = useQuery<{ endpointUrlPolicy: { allowHttp: boolean } }>({ query: URL_POLICY_QUERY });
  const allowHttp = policy.data?.endpointUrlPolicy.allowHttp ?? false;
  const summary = useRef<HTMLDivElement>(null);
  // Every failed submit sets new problem objects: bring the summary (at the top of a long form)
  // into view and give it focus, so the list of what to fix is what is read and seen first.
  useEffect(() => {
    if (problemCount === 0 || !summary.current) return;
    summary.current.scrollIntoView({ block: 'start' });
    summary.current.focus({ preventScroll: true });
  }, [problems, unplaced, problemCount]);
  const goTo = (field: string): void => {
    const control = document.querySelector<HTMLElement>(`[data-field="${CSS.escape(field)}"] :is(input, select, textarea)`);
    control?.scrollIntoView({ block: 'center' });
    control?.focus({ preventScroll: true });
  };

  return (
    <form className="form" onSubmit={submit} noValidate aria-label={mode === 'create' ? 'New endpoint' : 'Edit endpoint'}>
      {problemCount > 0 && (
        <div className="alert alert--danger form-summary" role="alert" tabIndex={-1} ref={summary} aria-labelledby="endpoint-form-summary">
          <strong id="endpoint-form-summary">{problemCount === 1 ? 'One setting needs attention' : `${problemCount} settings need attention`}</strong>
          <ul>
            {Object.entries(problems).map(([field, message]) => (
              <li key={field}>
                <a
                  href={`#${field}`}
                  onClick={(e) => {
                    e.preventDefault();
                    goTo(field);
                  }}
                >
                  {fieldLabel(field)}
                </a>
                : {message}
              </li>
            ))}
            {unplaced.map((m) => (
              <li key={m}>{m}</li>
            ))}
          </ul>
        </div>
      )}

      <FormSection title="Destination">
        <Field
          label="URL"
          name="url"
          error={problems.url}
          hint={
            allowHttp
              ? 'An https:// or http:// URL (this server accepts both) that receives POST requests with the signed event.'
              : 'An https:// URL that receives POST requests with the signed event.'
          }
        >
          {(p) => <input {...p} type="url" inputMode="url" value={state.url} onChange={(e) => set('url', e.target.value)} placeholder="https://example.com/webhooks" required />}
        </Field>
        <Field label="Description" name="description" error={problems.description}>
          {(p) => <input {...p} value={state.description} onChange={(e) => set('description', e.target.value)} placeholder="What this endpoint is for" />}
        </Field>
        <Field label="Labels" name="labels" error={problems.labels} hint='Comma-separated, e.g. "team:security, prod".'>
          {(p) => <input {...p} value={state.labels} onChange={(e) => set('labels', e.target.value)} />}
        </Field>
      </FormSection>

      <FormSection title="Subscriptions">
        <EventTypePicker value={state.patterns} onChange={(patterns) => set('patterns', patterns)} error={problems.patterns} />
      </FormSection>

      {mode === 'create' && (
        <FormSection title="Signing">
          <Field
            label="Signing algorithm"
            name="signingAlgorithm"
            error={problems.signingAlgorithm}
            hint={
              state.signingAlgorithm === 'HMAC_SHA256'
                ? 'A secret for this endpoint (whsec_…), shown once after creation.'
                : "The organization's Ed25519 key pair: receivers verify with the public key (whpk_…) or the JWKS."
            }
          >
            {(p) => (
              <select {...p} value={state.signingAlgorithm} onChange={(e) => set('signingAlgorithm', e.target.value as EndpointFormState['signingAlgorithm'])}>
                <option value="HMAC_SHA256">HMAC-SHA256 (shared secret)</option>
                <option value="ED25519">Ed25519 (public key)</option>
              </select>
            )}
          </Field>
        </FormSection>
      )}

      <FormSection title="Delivery">
        <div className="form-grid">
          <NumberField label="Timeout (ms)" name="timeoutMs" value={state.timeoutMs} onChange={(v) => set('timeoutMs', v)} error={problems.timeoutMs} hint="1,000–30,000; default 15,000." />
          <NumberField label="Max in flight" name="maxInFlight" value={state.maxInFlight} onChange={(v) => set('maxInFlight', v)} error={problems.maxInFlight} hint="Concurrent requests: 1–1,000; default 16." />
          <NumberField
            label="Rate limit (requests/s)"
            name="rateLimitPerSecond"
            value={state.rateLimitPerSecond}
            onChange={(v) => set('rateLimitPerSecond', v)}
            error={problems.rateLimitPerSecond}
            hint="Empty for no limit."
          />
          <Field
            label="Ordering"
            name="orderingMode"
            error={problems.orderingMode}
            hint={state.orderingMode === 'STRICT' ? 'A failing delivery holds back later ones with its ordering key.' : 'Publish order; one in flight per ordering key.'}
          >
            {(p) => (
              <select {...p} value={state.orderingMode} onChange={(e) => set('orderingMode', e.target.value as EndpointFormState['orderingMode'])}>
                <option value="BEST_EFFORT">Best effort</option>
                <option value="STRICT">Strict</option>
              </select>
            )}
          </Field>
        </div>
      </FormSection>

      <FormSection title="Retries" error={problems.retryPolicy}>
        <div className="form-grid">
          <NumberField
            label="Max attempts"
            name="retryPolicy.maxAttempts"
            value={state.retryPolicy.maxAttempts}
            onChange={(v) => update((s) => ({ ...s, retryPolicy: { ...s.retryPolicy, maxAttempts: v } }))}
            error={problems['retryPolicy.maxAttempts']}
            hint="1–50; then the delivery is dead-lettered."
          />
          <NumberField
            label="Initial backoff (s)"
            name="retryPolicy.initialBackoffSeconds"
            value={state.retryPolicy.initialBackoffSeconds}
            onChange={(v) => update((s) => ({ ...s, retryPolicy: { ...s.retryPolicy, initialBackoffSeconds: v } }))}
            error={problems['retryPolicy.initialBackoffSeconds']}
          />
          <NumberField
            label="Backoff multiplier"
            name="retryPolicy.multiplier"
            decimal
            value={state.retryPolicy.multiplier}
            onChange={(v) => update((s) => ({ ...s, retryPolicy: { ...s.retryPolicy, multiplier: v } }))}
            error={problems['retryPolicy.multiplier']}
          />
          <NumberField
            label="Max backoff (s)"
            name="retryPolicy.maxBackoffSeconds"
            value={state.retryPolicy.maxBackoffSeconds}
            onChange={(v) => update((s) => ({ ...s, retryPolicy: { ...s.retryPolicy, maxBackoffSeconds: v } }))}
            error={problems['retryPolicy.maxBackoffSeconds']}
          />
        </div>
        {delays && (
          <p className="field__hint">
            {delays.length === 0
              ? 'No retries: a failed first attempt dead-letters the delivery.'
              : `Retries after ${delays.map((d) => formatSeconds(Math.round(d))).join(', ')} (±20% jitter).`}
          </p>
        )}
      </FormSection>

      <FormSection title="Circuit breaker" error={problems.circuitBreaker}>
        <CheckboxField
          label="Circuit breaker enabled"
          name="circuitBreaker.enabled"
          checked={state.circuitBreaker.enabled}
          onChange={(enabled) => update((s) => ({ ...s, circuitBreaker: { ...s.circuitBreaker, enabled } }))}
          error={problems['circuitBreaker.enabled']}
          hint="After consecutive failures, stop sending and probe after a cooldown."
        />
        <div className="form-grid">
          <NumberField
            label="Failure threshold"
            name="circuitBreaker.failureThreshold"
            value={state.circuitBreaker.failureThreshold}
            onChange={(v) => update((s) => ({ ...s, circuitBreaker: { ...s.circuitBreaker, failureThreshold: v } }))}
            error={problems['circuitBreaker.failureThreshold']}
            hint="Consecutive failures that open the circuit."
          />
          <NumberField
            label="Cooldown (s)"
            name="circuitBreaker.cooldownSeconds"
            value={state.circuitBreaker.cooldownSeconds}
            onChange={(v) => update((s) => ({ ...s, circuitBreaker: { ...s.circuitBreaker, cooldownSeconds: v } }))}
            error={problems['circuitBreaker.cooldownSeconds']}
            hint="Before the first probe; doubles after a failed probe (max 1 h)."
          />
        </div>
      </FormSection>

      <FormSection title="Custom headers" error={problems.headers}>
        {state.headers.length === 0 && <p className="muted">No custom headers.</p>}
        {state.headers.map((h, i) => (
          <div className="header-row" key={i}>
            <Field label={`Header ${i + 1} name`} name={`headers[${i}].name`} error={problems[`headers[${i}].name`]}>
              {(p) => (
                <input
                  {...p}
                  value={h.name}
                  spellCheck={false}
                  onChange={(e) => update((s) => ({ ...s, headers: s.headers.map((x, j) => (j === i ? { ...x, name: e.target.value } : x)) }))}
                />
              )}
            </Field>
            <Field label={`Header ${i + 1} value`} name={`headers[${i}].value`} error={problems[`headers[${i}].value`]}>
              {(p) => (
                <input
                  {...p}
                  value={h.value}
                  spellCheck={false}
                  onChange={(e) => update((s) => ({ ...s, headers: s.headers.map((x, j) => (j === i ? { ...x, value: e.target.value } : x)) }))}
                />
              )}
            </Field>
            <Button size="sm" variant="ghost" aria-label={`Remove header ${i + 1}`} onClick={() => update((s) => ({ ...s, headers: s.headers.filter((_, j) => j !== i) }))}>
              Remove
            </Button>
          </div>
        ))}
        <Button size="sm" onClick={() => update((s) => ({ ...s, headers: [...s.headers, { name: '', value: '' }] }))}>
          Add header
        </Button>
      </FormSection>

      <ContentSection state={state} update={update} problems={problems} />

      <FormSection title="Mutual TLS" error={problems.tls}>
        {mode === 'edit' && existingTls && (
          <p className="muted small">
            Now: {existingTls.clientCertificate ? `client certificate ${existingTls.clientCertificate.subject}` : 'no client certificate'}
            {existingTls.caCertificates.length ? `, ${existingTls.caCertificates.length} trusted CA certificate(s)` : ''}.
          </p>
        )}
        <div className="radio-row" role="radiogroup" aria-label="mTLS">
          {mode === 'edit' && existingTls && <Radio label="Keep current mTLS settings" checked={state.tlsMode === 'keep'} onChange={() => set('tlsMode', 'keep')} />}
          <Radio label={mode === 'edit' && existingTls ? 'Remove mTLS' : 'No mTLS'} checked={state.tlsMode === 'none'} onChange={() => set('tlsMode', 'none')} />
          <Radio label={mode === 'edit' && existingTls ? 'Replace mTLS settings' : 'Use mTLS'} checked={state.tlsMode === 'set'} onChange={() => set('tlsMode', 'set')} />
        </div>
        {state.tlsMode === 'set' && (
          <div className="stack">
            <PemField label="Client certificate (PEM)" name="tls.clientCertificatePem" value={state.tls.clientCertificatePem} error={problems['tls.clientCertificatePem']} onChange={(v) => update((s) => ({ ...s, tls: { ...s.tls, clientCertificatePem: v } }))} placeholder="-----BEGIN CERTIFICATE-----" />
            <PemField label="Client private key (PEM)" name="tls.clientKeyPem" value={state.tls.clientKeyPem} error={problems['tls.clientKeyPem']} onChange={(v) => update((s) => ({ ...s, tls: { ...s.tls, clientKeyPem: v } }))} placeholder="-----BEGIN PRIVATE KEY-----" hint="Stored encrypted; never shown again." />
            <PemField label="CA certificate (PEM)" name="tls.caCertificatePem" value={state.tls.caCertificatePem} error={problems['tls.caCertificatePem']} onChange={(v) => update((s) => ({ ...s, tls: { ...s.tls, caCertificatePem: v } }))} placeholder="-----BEGIN CERTIFICATE-----" hint="Trusted for the endpoint's server certificate instead of the public roots." />
          </div>
        )}
      </FormSection>

      {mode === 'edit' && <Notice>Saving applies to the next attempts, including retries already scheduled.</Notice>}
      <div className="form-actions">
        <Button type="submit" variant="primary" busy={busy} busyLabel="Saving…">
          {mode === 'create' ? 'Create endpoint' : 'Save changes'}
        </Button>
        <Button onClick={onCancel} disabled={busy}>
          Cancel
        </Button>
      </div>
    </form>
  );
}

function FormSection({ title, children, error }: { title: string; children: ReactNode; error?: string }) {
  return (
    <fieldset className="form-section">
      <legend>{title}</legend>
      {error && <p className="field__error">{error}</p>}
      {children}
    </fieldset>
  );
}

function NumberField({ label, name, value, onChange, error, hint, decimal }: { label: string; name: string; value: string; onChange: (v: string) => void; error?: string; hint?: string; decimal?: boolean }) {
  return (
    <Field label={label} name={name} error={error} hint={hint}>
      {(p) => <input {...p} inputMode={decimal ? 'decimal' : 'numeric'} value={value} onChange={(e) => onChange(e.target.value)} />}
    </Field>
  );
}

function PemField({ label, name, value, onChange, error, hint, placeholder }: { label: string; name: string; value: string; onChange: (v: string) => void; error?: string; hint?: string; placeholder: string }) {
  return (
    <Field label={label} name={name} error={error} hint={hint}>
      {(p) => <textarea {...p} rows={5} spellCheck={false} className="mono" value={value} placeholder={placeholder} onChange={(e) => onChange(e.target.value)} />}
    </Field>
  );
}

function Radio({ label, checked, onChange }: { label: string; checked: boolean; onChange: () => void }) {
  return (
    <label className="radio">
      <input type="radio" name="tlsMode" checked={checked} onChange={onChange} />
      {label}
    </label>
  );
}
