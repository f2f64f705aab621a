import { useEffect, useState } from 'react';
import { useQuery } from 'urql';
import { Field } from '../../shared/ui';
import { VALIDATE_FILTER } from './contentQueries';

interface Validation {
  valid: boolean;
  message: string | null;
  position: { line: number; column: number } | null;
}

/** The text after the user stopped typing for `ms`. */
function useSettled(text: string, ms: number): string {
  const [settled, setSettled] = useState(text);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(text), ms);
    return () => clearTimeout(timer);
  }, [text, ms]);
  return settled;
}

/**
 * The CEL content filter, checked by the server as the user types (the same compiler publishing
 * uses), with the problem and its position under the field. The server's answer on save wins.
 */
export function FilterField({ value, onChange, error }: { value: string; onChange: (value: string) => void; error?: string }) {
  const settled = useSettled(value.trim(), 300);
  const [result] = useQuery<{ validateEndpointFilter: Validation }>({
    query: VALIDATE_FILTER,
    variables: { expression: settled },
    pause: settled === '',
    requestPolicy: 'cache-first',
  });
  const check = settled === '' || settled !== value.trim() ? null : result.data?.validateEndpointFilter;
  const live = check && !check.valid ? `${check.message}${check.position ? ` (line ${check.position.line}, column ${check.position.column})` : ''}` : null;
  return (
    <Field
      label="Content filter (CEL)"
      name="filter"
      error={error ?? live}
      hint={
        <>
          Only events for which this is true reach the endpoint, e.g. <code>data.severity == "high" &amp;&amp; data.pipeline.startsWith("prod-")</code>. It sees{' '}
          <code>type</code>, <code>data</code>, <code>orderingKey</code> and <code>timestamp</code>; use <code>has(data.x)</code> for optional fields. Empty: every
          subscribed event.
          {check?.valid && <span className="filter-ok"> ✓ Valid filter.</span>}
        </>
      }
    >
      {(p) => (
        <textarea
          {...p}
          className="code-input"
          rows={2}
          spellCheck={false}
          value={value}
          onChange={(e) => onChange(e.target.value)}
          placeholder='data.severity == "high"'
          data-testid="filter-input"
        />
      )}
    </Field>
  );
}
