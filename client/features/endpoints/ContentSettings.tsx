import type { ReactNode } from 'react';
import { Time } from '../../shared/ui';
import type { EndpointDetail } from './queries';

/** The filter (with its failed evaluations) and the transformation, as rows of the settings list. */
export function contentSettingsRows(endpoint: EndpointDetail): [ReactNode, ReactNode][] {
  return [
    [
      'Content filter',
      endpoint.filter ? (
        <div data-testid="filter-status">
          <code className="break">{endpoint.filter}</code>
          {endpoint.filterErrorCount > 0 ? (
            <p className="field__error small">
              {endpoint.filterErrorCount.toLocaleString()} failed evaluation{endpoint.filterErrorCount === 1 ? '' : 's'} (counted as no match); last
              {endpoint.filterLastErrorAt && (
                <>
                  {' '}
                  <Time value={endpoint.filterLastErrorAt} />
                </>
              )}
              : {endpoint.filterLastError}
            </p>
          ) : (
            <p className="muted small">No failed evaluations.</p>
          )}
        </div>
      ) : (
        <span className="muted">None: every subscribed event</span>
      ),
    ],
    [
      'Transformation',
      endpoint.transformation ? (
        <pre className="code-block small">{endpoint.transformation}</pre>
      ) : (
        <span className="muted">{endpoint.transformation === null ? 'None (or hidden from the viewer role)' : 'None'}</span>
      ),
    ],
  ];
}
