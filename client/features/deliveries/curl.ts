/**
 * "Copy as curl": a bash command that sends a recorded request to the receiver again. Pure
 * (unit-tested, and run against a real receiver in the e2e tests).
 *
 * HMAC endpoints: the command signs the exact body again with a fresh `webhook-timestamp`, as the
 * service would (Standard Webhooks: HMAC-SHA256 over `id.timestamp.body`, key = the base64 after
 * `whsec_`), using only openssl, od and tr. The secret is a placeholder to fill in: the service
 * never shows it again. Ed25519 endpoints: the organization's private key never leaves the
 * server, so the command resends the recorded signature and timestamp, which receivers accept
 * only within their tolerance (5 minutes by default).
 */

export const SECRET_PLACEHOLDER = 'whsec_REPLACE_WITH_THE_ENDPOINT_SECRET';
/** How the API shows a custom header value it keeps secret. */
export const MASKED_VALUE = '••••';
/** Headers the command computes itself (or that curl sets). */
const REGENERATED = new Set(['webhook-timestamp', 'webhook-signature', 'content-length', 'host']);

export interface RecordedRequest {
  url: string;
  /** Headers as recorded with the attempt (custom header values masked). */
  headers: Record<string, unknown>;
  body: string;
  algorithm: 'HMAC_SHA256' | 'ED25519';
  /** For the comment: which attempt of which delivery. */
  label: string;
}

/** A bash word that is exactly `value` (single quotes; an embedded ' becomes '\''). */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** A shell variable name for a custom header: x-api-token → X_API_TOKEN. */
export function headerVariable(name: string): string {
  const v = name.toUpperCase().replace(/[^A-Z0-9]+/g, '_').replace(/^_+|_+$/g, '');
  return /^[0-9]/.test(v) || !v ? `HEADER_${v}` : v;
}

function headerValue(value: unknown): string {
  return Array.isArray(value) ? value.map(String).join(', ') : String(value);
}

/** The command for `request`, a few lines of bash ending in the curl call. */
export function buildCurl(request: RecordedRequest): string {
  const lines: string[] = [`# ${request.label}`];
  const entries = Object.entries(request.headers).map(([name, value]) => [name.toLowerCase(), headerValue(value)] as const);
  const masked = entries.filter(([, value]) => value === MASKED_VALUE).map(([name]) => name);
  const hmac = request.algorithm === 'HMAC_SHA256';
  const messageId = entries.find(([name]) => name === 'webhook-id')?.[1] ?? '';

  if (hmac) {
    lines.push(
      "# Signed again with a fresh timestamp: set WEBHOOK_SECRET to the endpoint's signing secret (whsec_…, shown once when it was created or rotated).",
      `WEBHOOK_SECRET=${shellQuote(SECRET_PLACEHOLDER)}`,
    );
  } else {
    lines.push(
      "# Ed25519: the organization's private key never leaves the service, so this resends the recorded signature and timestamp;",
      '# receivers accept them only within their tolerance (5 minutes by default). Retry the delivery for a freshly signed request.',
    );
  }
  for (const name of masked) lines.push(`${headerVariable(name)}=${shellQuote('REPLACE_ME')}  # custom header ${name}: its value is not shown`);
  lines.push(`BODY=${shellQuote(request.body)}`);
  if (hmac) {
    lines.push(
      `MSG_ID=${shellQuote(messageId)}`,
      'TS=$(date +%s)',
      'KEY_HEX=$(printf \'%s\' "${WEBHOOK_SECRET#whsec_}" | openssl base64 -d -A | od -An -vtx1 | tr -d \' \\n\')',
      'SIG=$(printf \'%s\' "$MSG_ID.$TS.$BODY" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$KEY_HEX" -binary | openssl base64 -A)',
    );
  }

  const args: string[] = [`curl -sS -X POST ${shellQuote(request.url)}`];
  for (const [name, value] of entries) {
    if (hmac && REGENERATED.has(name)) continue;
    if (!hmac && (name === 'content-length' || name === 'host')) continue;
    if (masked.includes(name)) args.push(`-H "${name}: $${headerVariable(name)}"`);
    else if (hmac && name === 'webhook-id') args.push('-H "webhook-id: $MSG_ID"');
    else args.push(`-H ${shellQuote(`${name}: ${value}`)}`);
  }
  if (hmac) args.push('-H "webhook-timestamp: $TS"', '-H "webhook-signature: v1,$SIG"');
  args.push('--data-binary "$BODY"');
  lines.push(args.join(' \\\n  '));
  return `${lines.join('\n')}\n`;
}
