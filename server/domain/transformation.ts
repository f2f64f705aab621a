/**
 * Endpoint transformations (SPEC §10): JavaScript defining `function handler(webhook)`, run in a
 * sandbox before signing. This module holds the contract, pure: what the handler receives, how
 * its return value becomes the request (body and custom headers) or a cancellation, and the
 * limits. The sandbox itself is engine/transform/.
 */
import { RESERVED_HEADER_NAMES } from './endpointHeaders.js';

export const TRANSFORMATION_LIMITS = {
  /** Characters of source code. */
  codeLength: 64 * 1024,
  /** Bytes of the body a transformation may produce (the payload limit). */
  bodyBytes: 256 * 1024,
  headers: 20,
  headerNameLength: 256,
  headerValueLength: 8_192,
} as const;

/** What the handler receives (its JSON text is built without re-serialising the payload). */
export interface TransformationInput {
  id: string;
  type: string;
  /** ISO-8601 publish time, as in the envelope. */
  timestamp: string;
  /** The stored payload as JSON text. */
  dataJson: string;
  /** The endpoint's custom headers. */
  headers: Record<string, string>;
}

/** What happens to the request. */
export type TransformationOutcome =
  | { kind: 'send'; body: string; headers: Record<string, string>; bodyChanged: boolean }
  | { kind: 'cancel' }
  | { kind: 'error'; message: string };

/** The JSON text of the `webhook` argument. */
export function transformationInputJson(input: TransformationInput): string {
  return `{"id":${JSON.stringify(input.id)},"type":${JSON.stringify(input.type)},"timestamp":${JSON.stringify(input.timestamp)},"data":${input.dataJson},"headers":${JSON.stringify(input.headers)}}`;
}

/** Problems with transformation source before it is run (length), or null. */
export function checkTransformationSource(code: string): string | null {
  if (code.trim() === '') return 'transformation is empty: give JavaScript defining function handler(webhook), or null for none.';
  if (code.length > TRANSFORMATION_LIMITS.codeLength) {
    return `transformation is ${code.length} characters long; the limit is ${TRANSFORMATION_LIMITS.codeLength}.`;
  }
  return null;
}

const HEADER_NAME_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Turns the handler's return value (parsed from its JSON) into the request to send:
 * - `cancel: true`: nothing is sent;
 * - `body` (a string, sent as is, or any other JSON value, serialised): the whole request body;
 * - otherwise the envelope `{id, type, timestamp, data}` with the returned `data` (id, type and
 *   timestamp stay the event's: receivers deduplicate on the id);
 * - `headers` (an object of strings) replaces the endpoint's custom headers.
 * `envelope` rebuilds the unchanged body, so "changed" can be told without comparing texts.
 */
export function interpretTransformationOutput(
  output: unknown,
  input: TransformationInput,
  envelope: (dataJson: string) => string,
): TransformationOutcome {
  const error = (message: string): TransformationOutcome => ({ kind: 'error', message });
  if (output === null || typeof output !== 'object' || Array.isArray(output)) {
    return error(`handler must return the webhook object (got ${describe(output)}); return webhook, changed, or { cancel: true }.`);
  }
  const result = output as Record<string, unknown>;
  if (result.cancel === true) return { kind: 'cancel' };
  if (result.cancel !== undefined && result.cancel !== false) return error(`cancel must be true or false (got ${describe(result.cancel)}).`);

  let headers = input.headers;
  if (result.headers !== undefined) {
    const checked = checkHeaders(result.headers);
    if (typeof checked === 'string') return error(checked);
    headers = checked;
  }

  let body: string;
  let bodyChanged: boolean;
  if (result.body !== undefined) {
    body = typeof result.body === 'string' ? result.body : JSON.stringify(result.body);
    bodyChanged = true;
  } else {
    if (result.data === undefined) return error('handler returned no data (and no body); return the webhook with its data, or { cancel: true }.');
    const dataJson = JSON.stringify(result.data);
    // The stored payload's text is Postgres's jsonb rendering: compare like with like.
    bodyChanged = dataJson !== JSON.stringify(JSON.parse(input.dataJson));
    body = bodyChanged ? envelope(dataJson) : envelope(input.dataJson);
  }
  const size = Buffer.byteLength(body);
  if (size > TRANSFORMATION_LIMITS.bodyBytes) {
    return error(`the transformed body is ${size} bytes; the limit is ${TRANSFORMATION_LIMITS.bodyBytes} bytes (256 KiB).`);
  }
  return { kind: 'send', body, headers, bodyChanged };
}

function checkHeaders(value: unknown): Record<string, string> | string {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return `headers must be an object of header names to string values (got ${describe(value)}).`;
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > TRANSFORMATION_LIMITS.headers) return `headers has ${entries.length} entries; the limit is ${TRANSFORMATION_LIMITS.headers}.`;
  const out: Record<string, string> = {};
  const seen = new Set<string>();
  for (const [name, raw] of entries) {
    const lower = name.toLowerCase();
    if (!HEADER_NAME_RE.test(name) || name.length > TRANSFORMATION_LIMITS.headerNameLength) return `header name ${JSON.stringify(name.slice(0, 80))} is not a valid HTTP header name.`;
    if (RESERVED_HEADER_NAMES.includes(lower) || lower.startsWith('webhook-')) {
      return `header "${name}" is set by the webhook sender itself and cannot be changed by a transformation.`;
    }
    if (seen.has(lower)) return `header "${name}" is given twice (names are case-insensitive).`;
    seen.add(lower);
    if (typeof raw !== 'string') return `header "${name}" must be a string (got ${describe(raw)}).`;
    if (/[\r\n\0]/.test(raw)) return `header "${name}" must not contain line breaks or NUL characters.`;
    if (raw.length > TRANSFORMATION_LIMITS.headerValueLength) return `header "${name}" is longer than ${TRANSFORMATION_LIMITS.headerValueLength} characters.`;
    out[name] = raw;
  }
  return out;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}
