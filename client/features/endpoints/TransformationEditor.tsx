import { useEffect, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { usePermissions } from '../../shared/session';
import { Button, Field } from '../../shared/ui';
import { EXAMPLE_TRANSFORMATION, examplePayload } from './sampleEvent';
import { TEST_TRANSFORMATION, TRANSFORMATION_CATALOG as CATALOG, TRANSFORMATION_LAST_EVENT as LAST_EVENT } from './contentQueries';

interface TestResult {
  ok: boolean;
  cancelled: boolean;
  body: string | null;
  headers: { name: string; value: string }[];
  error: string | null;
  durationMs: number;
}

/**
 * The transformation: a code editor and a test run against an example of a catalog type (the
 * latest event of that type when the role may read payloads, else one shaped by its schema),
 * showing exactly the body and headers that would be sent, or the error.
 */
export function TransformationEditor({
  value,
  onChange,
  error,
  customHeaders,
}: {
  value: string;
  onChange: (value: string) => void;
  error?: string;
  customHeaders: { name: string; value: string }[];
}) {
  const can = usePermissions();
  const [catalog] = useQuery<{ eventTypes: { edges: { node: { name: string; schema: unknown } }[] } }>({ query: CATALOG });
  const types = catalog.data?.eventTypes.edges.map((e) => e.node) ?? [];
  const [type, setType] = useState('');
  const chosen = type || types[0]?.name || '';
  const [lastEvent] = useQuery<{ events: { edges: { node: { data: unknown } }[] } }>({ query: LAST_EVENT, variables: { type: chosen }, pause: !chosen || !can.seePayloads });
  const [sample, setSample] = useState('');
  const [touched, setTouched] = useState(false);
  useEffect(() => {
    if (touched || !chosen) return;
    const recent = lastEvent.data?.events.edges[0]?.node.data;
    const data = recent && typeof recent === 'object' ? recent : examplePayload(chosen, types.find((t) => t.name === chosen)?.schema);
    setSample(JSON.stringify(data, null, 2));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [chosen, lastEvent.data, touched, catalog.data]);
  const [run, test] = useMutation<{ testTransformation: TestResult }>(TEST_TRANSFORMATION);
  const [sampleError, setSampleError] = useState<string | null>(null);

  const runTest = async (): Promise<void> => {
    let data: unknown;
    try {
      data = JSON.parse(sample);
    } catch (err) {
      setSampleError(`The example is not valid JSON: ${(err as Error).message}`);
      return;
    }
    setSampleError(null);
    await test({ code: value, type: chosen, data, headers: customHeaders.filter((h) => h.name.trim()).map((h) => ({ name: h.name.trim(), value: h.value })) });
  };
  const result = run.data?.testTransformation;

  return (
    <div className="transformation">
      <Field
        label="Transformation (JavaScript)"
        name="transformation"
        error={error}
        hint="Defines function handler(webhook); runs in a sandbox before signing, with a time and memory limit and no network. A failure makes the attempt fail with TRANSFORMATION (not retried). Empty: none."
      >
        {(p) => (
          <textarea
            {...p}
            className="code-input"
            rows={value ? Math.min(18, Math.max(6, value.split('\n').length + 1)) : 3}
            spellCheck={false}
            value={value}
            onChange={(e) => onChange(e.target.value)}
            placeholder="function handler(webhook) { return webhook; }"
            data-testid="transformation-input"
          />
        )}
      </Field>
      {!value && (
        <Button size="sm" onClick={() => onChange(EXAMPLE_TRANSFORMATION)}>
          Start from an example
        </Button>
      )}
      {value && (
        <div className="transformation__test" aria-label="Test run">
          <div className="transformation__inputs">
            <Field label="Event type" name="transformation.type">
              {(p) => (
                <select {...p} value={chosen} onChange={(e) => { setType(e.target.value); setTouched(false); }}>
                  {types.map((t) => (
                    <option key={t.name} value={t.name}>
                      {t.name}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <Field label="Example data" name="transformation.data" error={sampleError} hint={can.seePayloads ? 'The latest event of this type, or an example from its schema. Edit freely.' : 'An example from the type\'s schema.'}>
              {(p) => <textarea {...p} className="code-input" rows={6} spellCheck={false} value={sample} onChange={(e) => { setSample(e.target.value); setTouched(true); }} data-testid="transformation-sample" />}
            </Field>
            <Button onClick={() => void runTest()} busy={run.fetching} busyLabel="Running…" data-testid="transformation-run">
              Run test
            </Button>
          </div>
          {run.error && <p className="field__error">{run.error.graphQLErrors[0]?.message ?? run.error.message}</p>}
          {result && (
            <div className={`transformation__result ${result.ok ? '' : 'transformation__result--error'}`} role="status" data-testid="transformation-result">
              {!result.ok && <p><strong>Failed:</strong> {result.error}</p>}
              {result.cancelled && <p>Cancelled: this event would not be sent to the endpoint.</p>}
              {result.ok && !result.cancelled && (
                <>
                  <p className="muted small">Would send ({Math.round(result.durationMs * 10) / 10} ms in the sandbox):</p>
                  {result.headers.length > 0 && (
                    <pre className="code-block">{result.headers.map((h) => `${h.name}: ${h.value}`).join('\n')}</pre>
                  )}
                  <pre className="code-block" data-testid="transformation-body">{prettyJson(result.body ?? '')}</pre>
                </>
              )}
            </div>
          )}
        </div>
      )}
    </div>
  );
}

function prettyJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
