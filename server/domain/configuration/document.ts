/**
 * The configuration document: the desired state of one organization's endpoints and custom
 * event types, as `applyConfiguration` takes it and `exportConfiguration` returns it.
 *
 *   { "version": 1,
 *     "eventTypes": { "acme.invoice.paid": { "uid": ..., "description": ..., "schema": {...} } },
 *     "endpoints":  { "billing-alerts": { "url": ..., "patterns": [...], "headers": {...}, ... } } }
 *
 * Endpoints are keyed by uid (an endpoint without one is keyed by its id, which can refer to an
 * existing endpoint only); event types by name. A setting left out takes its default.
 */
import type { InputProblem } from '../errors.js';
import { ENDPOINT_FIELDS, type CurrentEndpoint } from './endpointFields.js';
import { exportEventType, type CurrentEventType } from './eventTypeFields.js';
import { isPlainObject, pathOf } from './shapes.js';

export const DOCUMENT_VERSION = 1;
export const DOCUMENT_LIMITS = { endpoints: 1_000, eventTypes: 1_000 } as const;

/** A document whose top level has the right shape; entries are read against the current state. */
export interface ParsedDocument {
  eventTypes: [name: string, entry: unknown][];
  endpoints: [key: string, entry: unknown][];
}

const TOP_LEVEL = ['version', 'eventTypes', 'endpoints'];

/**
 * Checks the top level of a document: its version, and that both sections are objects. Problems
 * go to `problems`; what could be read is returned, so its entries are checked too.
 */
export function parseDocument(raw: unknown, problems: InputProblem[]): ParsedDocument {
  if (!isPlainObject(raw)) {
    problems.push({ field: 'document', message: 'The document must be an object: {"version": 1, "eventTypes": {...}, "endpoints": {...}}.' });
    return { eventTypes: [], endpoints: [] };
  }
  for (const key of Object.keys(raw)) {
    if (!TOP_LEVEL.includes(key)) problems.push({ field: pathOf('document', key), message: `"${key}" is not a section of a configuration document (known: ${TOP_LEVEL.join(', ')}).` });
  }
  if (raw.version !== undefined && raw.version !== DOCUMENT_VERSION) {
    problems.push({ field: 'version', message: `version must be ${DOCUMENT_VERSION} (got ${JSON.stringify(raw.version)}).` });
  }
  const section = (name: 'eventTypes' | 'endpoints'): [string, unknown][] => {
    const value = raw[name];
    if (value === undefined || value === null) return [];
    if (!isPlainObject(value)) {
      problems.push({ field: name, message: `${name} must be an object keyed by ${name === 'endpoints' ? 'endpoint uid' : 'event type name'}.` });
      return [];
    }
    const entries = Object.entries(value);
    if (entries.length > DOCUMENT_LIMITS[name]) {
      problems.push({ field: name, message: `${name} has ${entries.length} entries; a document holds at most ${DOCUMENT_LIMITS[name]}.` });
      return [];
    }
    return entries;
  };
  return { eventTypes: section('eventTypes'), endpoints: section('endpoints') };
}

/** The key of an endpoint in a document: its uid, or its id when it has none. */
export function endpointKey(endpoint: { id: string; uid: string | null }): string {
  return endpoint.uid ?? endpoint.id;
}

/**
 * The document of an organization's current configuration. Applying it changes nothing; it holds
 * no secret (header values, mTLS keys and URL query strings are `{"unchanged": true}`).
 */
export function exportDocument(current: { endpoints: readonly CurrentEndpoint[]; eventTypes: readonly CurrentEventType[] }): Record<string, unknown> {
  const byKey = <T>(entries: [string, T][]) => Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return {
    version: DOCUMENT_VERSION,
    eventTypes: byKey(current.eventTypes.map((t) => [t.name, exportEventType(t)])),
    endpoints: byKey(current.endpoints.map((e) => [endpointKey(e), Object.fromEntries(ENDPOINT_FIELDS.map((f) => [f.name, f.exported(e)]))])),
  };
}
