/**
 * Classifies one delivery attempt (SPEC §6): only 2xx succeeds; redirects are failures
 * (never followed); 410 Gone disables the endpoint; 429/503 may carry a Retry-After that
 * stretches the next wait. Transport failures arrive already classed by the HTTP sender.
 */
import { parseRetryAfter } from './retrySchedule.js';

/** TRANSFORMATION: the endpoint's transformation threw, ran too long or too big; nothing was sent. */
export type ErrorClass = 'HTTP_STATUS' | 'TIMEOUT' | 'CONNECTION' | 'TLS' | 'DNS' | 'BLOCKED_ADDRESS' | 'TRANSFORMATION';

export const ERROR_CLASSES: readonly ErrorClass[] = ['HTTP_STATUS', 'TIMEOUT', 'CONNECTION', 'TLS', 'DNS', 'BLOCKED_ADDRESS', 'TRANSFORMATION'];

/** What the HTTP sender observed: a response, or a transport error it already classed. */
export type AttemptResult =
  | { status: number; headers: Record<string, string> }
  | { errorClass: ErrorClass; errorMessage: string };

/** The verdict the dispatcher records and acts on. */
export interface AttemptOutcome {
  succeeded: boolean;
  errorClass: ErrorClass | null;
  errorMessage: string | null;
  retryAfterSeconds: number | null;
  disableEndpoint: boolean;
}

// A local table rather than node:http's STATUS_CODES keeps domain/ free of I/O modules.
const STATUS_TEXT: Readonly<Record<number, string>> = {
  100: 'Continue', 101: 'Switching Protocols', 103: 'Early Hints',
  200: 'OK', 201: 'Created', 202: 'Accepted', 203: 'Non-Authoritative Information', 204: 'No Content',
  205: 'Reset Content', 206: 'Partial Content', 207: 'Multi-Status', 208: 'Already Reported', 226: 'IM Used',
  300: 'Multiple Choices', 301: 'Moved Permanently', 302: 'Found', 303: 'See Other', 304: 'Not Modified',
  305: 'Use Proxy', 307: 'Temporary Redirect', 308: 'Permanent Redirect',
  400: 'Bad Request', 401: 'Unauthorized', 402: 'Payment Required', 403: 'Forbidden', 404: 'Not Found',
  405: 'Method Not Allowed', 406: 'Not Acceptable', 407: 'Proxy Authentication Required', 408: 'Request Timeout',
  409: 'Conflict', 410: 'Gone', 411: 'Length Required', 412: 'Precondition Failed', 413: 'Content Too Large',
  414: 'URI Too Long', 415: 'Unsupported Media Type', 416: 'Range Not Satisfiable', 417: 'Expectation Failed',
  418: "I'm a Teapot", 421: 'Misdirected Request', 422: 'Unprocessable Content', 423: 'Locked',
  424: 'Failed Dependency', 425: 'Too Early', 426: 'Upgrade Required', 428: 'Precondition Required',
  429: 'Too Many Requests', 431: 'Request Header Fields Too Large', 451: 'Unavailable For Legal Reasons',
  500: 'Internal Server Error', 501: 'Not Implemented', 502: 'Bad Gateway', 503: 'Service Unavailable',
  504: 'Gateway Timeout', 505: 'HTTP Version Not Supported', 506: 'Variant Also Negotiates',
  507: 'Insufficient Storage', 508: 'Loop Detected', 510: 'Not Extended', 511: 'Network Authentication Required',
};

/** "500 Internal Server Error", or just "599" for a code without a standard reason phrase. */
export function describeStatus(status: number): string {
  const text = STATUS_TEXT[status];
  return text ? `${status} ${text}` : String(status);
}

function header(headers: Record<string, string>, name: string): string | undefined {
  if (name in headers) return headers[name];
  // Senders normally lowercase names, but a stray capitalised key must not hide the header.
  for (const key of Object.keys(headers)) if (key.toLowerCase() === name) return headers[key];
  return undefined;
}

/** Classifies a response or transport error into success, failure details, Retry-After and disable. */
export function classifyOutcome(result: AttemptResult, nowMs: number): AttemptOutcome {
  if ('errorClass' in result) {
    return {
      succeeded: false,
      errorClass: result.errorClass,
      errorMessage: result.errorMessage,
      retryAfterSeconds: null,
      disableEndpoint: false,
    };
  }

  const { status, headers } = result;
  if (status >= 200 && status <= 299) {
    return { succeeded: true, errorClass: null, errorMessage: null, retryAfterSeconds: null, disableEndpoint: false };
  }

  const answered = `Endpoint answered ${describeStatus(status)}`;
  const fail = (errorMessage: string, extra: Partial<AttemptOutcome> = {}): AttemptOutcome => ({
    succeeded: false,
    errorClass: 'HTTP_STATUS',
    errorMessage,
    retryAfterSeconds: null,
    disableEndpoint: false,
    ...extra,
  });

  if (status >= 300 && status <= 399) {
    const location = header(headers, 'location');
    const target = location ? `Location: ${location}` : 'no Location header';
    return fail(`${answered}; redirects are not followed (${target}); point the endpoint at the final URL`);
  }
  if (status === 410) {
    return fail(`${answered}; the endpoint is disabled because 410 means it no longer exists`, { disableEndpoint: true });
  }
  if (status === 429 || status === 503) {
    const retryAfterSeconds = parseRetryAfter(header(headers, 'retry-after'), nowMs);
    const message = retryAfterSeconds === null ? answered : `${answered}; Retry-After asks for ${retryAfterSeconds} s`;
    return fail(message, { retryAfterSeconds });
  }
  return fail(answered);
}
