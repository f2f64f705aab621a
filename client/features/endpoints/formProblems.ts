/**
 * Placing the API's problems on the endpoint form: which form field shows a problem reported
 * for an API field path, and the message rewritten in the form's words (its labels, not the
 * API's names). Pure, so it is unit-tested directly.
 */
import type { Problems } from './formModel.js';

/** Form fields that show their own error; anything else is listed above the form. */
export const FORM_FIELDS = [
  'url',
  'description',
  'labels',
  'patterns',
  'signingAlgorithm',
  'timeoutMs',
  'retryPolicy',
  'retryPolicy.maxAttempts',
  'retryPolicy.initialBackoffSeconds',
  'retryPolicy.multiplier',
  'retryPolicy.maxBackoffSeconds',
  'circuitBreaker',
  'circuitBreaker.enabled',
  'circuitBreaker.failureThreshold',
  'circuitBreaker.cooldownSeconds',
  'maxInFlight',
  'rateLimitPerSecond',
  'orderingMode',
  'headers',
  'tls',
  'tls.clientCertificatePem',
  'tls.clientKeyPem',
  'tls.caCertificatePem',
  'filter',
  'transformation',
];

/**
 * Where a problem reported for API field `path` is shown: `labels[2]` on the labels field,
 * `patterns[0]` on the picker, `headers[1].value` on that header row.
 */
export function formFieldFor(path: string): string | null {
  if (FORM_FIELDS.includes(path)) return path;
  const base = path.replace(/\[\d+\]$/, '');
  if (base === 'labels' || base === 'patterns') return base;
  if (/^headers\[\d+\]\.(name|value)$/.test(path)) return path;
  return null;
}

/** The form's label for each API field path (problems are shown in the form's words, not the API's). */
export const FIELD_LABELS: Record<string, string> = {
  url: 'URL',
  description: 'Description',
  labels: 'Labels',
  patterns: 'Event types',
  signingAlgorithm: 'Signing algorithm',
  timeoutMs: 'Timeout',
  maxInFlight: 'Max in flight',
  rateLimitPerSecond: 'Rate limit',
  orderingMode: 'Ordering',
  headers: 'Custom headers',
  retryPolicy: 'Retry policy',
  'retryPolicy.maxAttempts': 'Max attempts',
  'retryPolicy.initialBackoffSeconds': 'Initial backoff',
  'retryPolicy.multiplier': 'Backoff multiplier',
  'retryPolicy.maxBackoffSeconds': 'Max backoff',
  circuitBreaker: 'Circuit breaker',
  'circuitBreaker.enabled': 'Circuit breaker enabled',
  'circuitBreaker.failureThreshold': 'Failure threshold',
  'circuitBreaker.cooldownSeconds': 'Cooldown',
  tls: 'Mutual TLS',
  'tls.clientCertificatePem': 'Client certificate',
  'tls.clientKeyPem': 'Client private key',
  'tls.caCertificatePem': 'CA certificate',
};

/** The label of a field path: `labels[1]` → "Label 2", `headers[0].value` → "Header 1 value". */
export function fieldLabel(path: string): string {
  const label = /^labels\[(\d+)\]$/.exec(path);
  if (label) return `Label ${Number(label[1]) + 1}`;
  const pattern = /^patterns\[(\d+)\]$/.exec(path);
  if (pattern) return `Event type pattern ${Number(pattern[1]) + 1}`;
  const header = /^headers\[(\d+)\](?:\.(name|value))?$/.exec(path);
  if (header) return `Header ${Number(header[1]) + 1}${header[2] ? ` ${header[2]}` : ''}`;
  return FIELD_LABELS[path] ?? path;
}

// Paths with a dot or an index are unambiguous anywhere; camelCase names too. Plain words
// ("url", "labels") are only field names at the start of a message.
const PATH_TOKEN = /\b(?:(?:retryPolicy|circuitBreaker|tls)\.\w+|(?:labels|patterns)\[\d+\]|headers\[\d+\](?:\.(?:name|value))?|timeoutMs|maxInFlight|rateLimitPerSecond|orderingMode|signingAlgorithm|retryPolicy|circuitBreaker)(?!\w)/g;
const LEADING_FIELD = /^(url|description|labels|patterns|headers|tls)(?![\w.[])/;

/**
 * An API message in the form's words: `retryPolicy.maxAttempts must be…` → "Max attempts must
 * be…", `labels[1] "x" repeats labels[0]` → `Label 2 "x" repeats Label 1`, "null" → "empty".
 */
export function humanizeMessage(message: string): string {
  const text = message
    .replace(PATH_TOKEN, (m) => fieldLabel(m))
    .replace(LEADING_FIELD, (m) => fieldLabel(m))
    .replace(/\bor null for no limit\b/, 'or empty for no limit');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Re-keys API problems onto form fields (merging messages that land on the same field), in the form's words. */
export function placeProblems(problems: Problems): { placed: Problems; unplaced: string[] } {
  const placed: Problems = {};
  const unplaced: string[] = [];
  for (const [path, raw] of Object.entries(problems)) {
    const message = humanizeMessage(raw);
    const field = formFieldFor(path);
    if (!field) unplaced.push(message);
    else placed[field] = placed[field] ? `${placed[field]} ${message}` : message;
  }
  return { placed, unplaced };
}
