/**
 * An endpoint's custom headers (SPEC §3): which names the sender keeps for itself, and the
 * validation of the headers an admin gives. A header value may be a secret: messages name the
 * header and the offending character, never the value.
 */
import type { InputProblem } from './errors.js';

export interface EndpointHeader {
  name: string;
  value: string;
}

export const HEADER_LIMITS = {
  headers: 20,
  headerNameLength: 256,
  headerValueLength: 8_192,
} as const;

/**
 * Headers the sender sets itself: letting an endpoint override them would break framing
 * (content-length, transfer-encoding), routing (host) or the signature (webhook-*). Then the
 * hop-by-hop and protocol-switching ones the HTTP client refuses to send (undici throws for
 * expect, upgrade, keep-alive, transfer-encoding and connection): accepted, they made every
 * delivery of the endpoint fail as CONNECTION.
 */
export const RESERVED_HEADER_NAMES: readonly string[] = [
  'host',
  'content-length',
  'content-type',
  'transfer-encoding',
  'connection',
  'user-agent',
  'expect',
  'upgrade',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
];
/**
 * What a header value may hold on the wire (undici's own check, RFC 9110 field-value): tab,
 * visible ASCII, space and the Latin-1 range; no control characters, nothing above U+00FF.
 */
const HEADER_VALUE_FORBIDDEN = /[^\t\x20-\x7e\x80-\xff]/;
const RESERVED_HEADER_PREFIX = 'webhook-';

// RFC 7230 §3.2.6 token.
const HEADER_NAME_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export function checkHeaders(raw: readonly { name: string; value: string }[] | null | undefined, problems: InputProblem[]): EndpointHeader[] {
  const headers = raw ?? [];
  if (headers.length > HEADER_LIMITS.headers) {
    problems.push({ field: 'headers', message: `An endpoint has at most ${HEADER_LIMITS.headers} custom headers (got ${headers.length}).` });
    return [];
  }
  const out: EndpointHeader[] = [];
  const seen = new Map<string, number>();
  headers.forEach((header, i) => {
    const at = `headers[${i}]`;
    const name = typeof header?.name === 'string' ? header.name.trim() : '';
    const value = typeof header?.value === 'string' ? header.value : '';
    let ok = true;
    const lower = name.toLowerCase();
    if (name.length === 0 || name.length > HEADER_LIMITS.headerNameLength || !HEADER_NAME_RE.test(name)) {
      problems.push({
        field: `${at}.name`,
        message: `${at}.name ${JSON.stringify(name)} is not a valid header name: use letters, digits and !#$%&'*+-.^_\`|~ only (e.g. "X-Api-Token"), at most ${HEADER_LIMITS.headerNameLength} characters.`,
      });
      ok = false;
    } else if (RESERVED_HEADER_NAMES.includes(lower) || lower.startsWith(RESERVED_HEADER_PREFIX)) {
      problems.push({
        field: `${at}.name`,
        message: `${at}.name "${name}" is set by the webhook sender itself and cannot be overridden (reserved: ${RESERVED_HEADER_NAMES.join(', ')} and every "webhook-*" header).`,
      });
      ok = false;
    } else if (seen.has(lower)) {
      problems.push({
        field: `${at}.name`,
        message: `${at}.name "${name}" repeats headers[${seen.get(lower)}] (header names are case-insensitive); give each header once.`,
      });
      ok = false;
    }
    const forbidden = HEADER_VALUE_FORBIDDEN.exec(value);
    if (forbidden) {
      // The value may be a secret: name the header and the character, never the value.
      const code = forbidden[0].codePointAt(0)!;
      const what = code > 0xff ? `the character U+${code.toString(16).toUpperCase().padStart(4, '0')}, beyond Latin-1 (percent- or base64-encode it)` : `the control character U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
      problems.push({ field: `${at}.value`, message: `${at}.value (header "${name.slice(0, 64)}") contains ${what}, which HTTP headers cannot carry.` });
      ok = false;
    } else if (value.length > HEADER_LIMITS.headerValueLength) {
      problems.push({ field: `${at}.value`, message: `${at}.value is longer than ${HEADER_LIMITS.headerValueLength} characters.` });
      ok = false;
    }
    if (name) seen.set(lower, seen.get(lower) ?? i);
    if (ok) out.push({ name, value });
  });
  return out;
}
