/** Transport errors and their SPEC §6 classes: the codes raised by the sender and the mapping of any error to a class. Pure. */

export type SendErrorClass = 'TIMEOUT' | 'CONNECTION' | 'TLS' | 'DNS' | 'BLOCKED_ADDRESS';

export const BLOCKED_CODE = 'ERR_WEBHOOK_BLOCKED_ADDRESS';
export const DEADLINE_CODE = 'ERR_WEBHOOK_DEADLINE';

export class CodedError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NODATA', 'EAI_NONAME', 'ENODATA']);
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT', DEADLINE_CODE]);
const CERT_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID',
  'CERT_REVOKED', 'CERT_UNTRUSTED', 'CERT_REJECTED', 'CERT_SIGNATURE_FAILURE', 'INVALID_CA', 'INVALID_PURPOSE',
  'HOSTNAME_MISMATCH', 'CERT_CHAIN_TOO_LONG', 'PATH_LENGTH_EXCEEDED',
]);

export function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

export function isTlsError(error: unknown, code: string): boolean {
  return (
    code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_') || code.startsWith('ERR_OSSL_') ||
    code === 'EPROTO' || CERT_CODES.has(code) || (error as { library?: unknown }).library === 'SSL routines'
  );
}

export function opensslReason(error: unknown): string {
  const reason = (error as { reason?: unknown }).reason;
  if (typeof reason === 'string' && reason !== '') return reason;
  return error instanceof Error ? error.message : String(error);
}

/** Map a transport error to the SPEC §6 classes with a message fit for an attempt record. */
export function classifyError(error: Error, display: string): { errorClass: SendErrorClass; errorMessage: string } {
  // Happy-eyeballs failures arrive as an AggregateError of per-address errors.
  const inner = error instanceof AggregateError && error.errors[0] instanceof Error ? (error.errors[0] as Error) : error;
  const cause = (inner as { cause?: unknown }).cause;
  if (cause instanceof Error && isTlsError(cause, errorCode(cause))) return classifyError(cause, display);
  const code = errorCode(inner) || errorCode(error);
  const host = display.startsWith('[') ? display.slice(0, display.indexOf(']') + 1) : (display.split(':')[0] ?? display);
  if (code === BLOCKED_CODE) return { errorClass: 'BLOCKED_ADDRESS', errorMessage: inner.message };
  if (DNS_CODES.has(code)) {
    const what = code === 'EAI_AGAIN' ? 'temporary DNS failure' : 'no such host';
    return { errorClass: 'DNS', errorMessage: `could not resolve ${host}: ${what} (${code})` };
  }
  if (code === 'UND_ERR_HEADERS_OVERFLOW') {
    return { errorClass: 'CONNECTION', errorMessage: `${display} answered with response headers over the size limit (${inner.message}); send fewer or smaller headers` };
  }
  if (TIMEOUT_CODES.has(code)) return { errorClass: 'TIMEOUT', errorMessage: `${display} timed out: ${inner.message}` };
  if (isTlsError(inner, code)) {
    const hint = /protocol version|unsupported protocol/i.test(inner.message)
      ? ' (the server must support TLS 1.2 or newer)'
      : code.includes('CERTIFICATE_REQUIRED')
        ? ' (the server requires a client certificate)'
        : '';
    return { errorClass: 'TLS', errorMessage: `TLS with ${display} failed: ${opensslReason(inner)}${hint} [${code || 'TLS'}]` };
  }
  switch (code) {
    case 'ECONNREFUSED':
      return { errorClass: 'CONNECTION', errorMessage: `connection refused by ${display} (ECONNREFUSED)` };
    case 'ECONNRESET':
      return { errorClass: 'CONNECTION', errorMessage: `connection reset by ${display} (ECONNRESET)` };
    case 'UND_ERR_SOCKET':
      return { errorClass: 'CONNECTION', errorMessage: `${display} closed the connection before a complete response (${inner.message})` };
    default:
      return { errorClass: 'CONNECTION', errorMessage: `request to ${display} failed: ${inner.message}${code ? ` (${code})` : ''}` };
  }
}
