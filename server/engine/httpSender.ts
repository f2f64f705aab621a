/**
 * The only outbound HTTP of the service (SPEC §6), on undici: keep-alive pools, one total
 * deadline per request, redirects never followed, TLS >= 1.2, optional mTLS / custom CA, a capped
 * response body, and the private-address guard applied to the address actually connected to.
 *
 * Hot path notes: IP-literal hosts are judged once per URL (cached) because Node skips `lookup`
 * for them; hostnames are judged in the connect-time `lookup`, i.e. once per new connection;
 * each request allocates one handler object, one timer and its promise.
 */
import dns from 'node:dns';
import type { IncomingHttpHeaders } from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { Agent, buildConnector, type Dispatcher } from 'undici';
import { createAddressPolicy, describeBlockReason, type AddressPolicy, type BlockReason, type Cidr } from '../domain/addressGuard.js';

export interface OutboundTls {
  clientCertificatePem?: string;
  clientKeyPem?: string;
  /** Replaces the public root store for this endpoint (like `curl --cacert`). */
  caCertificatePem?: string;
}

export interface OutboundRequest {
  endpointId: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  /** Total deadline: DNS + connect + TLS + response headers + body. */
  timeoutMs: number;
  tls?: OutboundTls | null;
}

export type SendErrorClass = 'TIMEOUT' | 'CONNECTION' | 'TLS' | 'DNS' | 'BLOCKED_ADDRESS';

/** `ok` means an HTTP response arrived (any status); judging the status happens elsewhere. */
export type SendResult =
  | { ok: true; status: number; headers: Record<string, string>; body: string; durationMs: number }
  | { ok: false; errorClass: SendErrorClass; errorMessage: string; durationMs: number };

export interface HttpSenderOptions {
  allowedCidrs: readonly Cidr[];
  userAgent: string;
  /** Bytes of response body kept (default 4,096). */
  maxResponseBodyBytes?: number;
  /** Connection cap per origin; unlimited by default since callers bound in-flight requests. */
  connectionsPerOrigin?: number;
  /**
   * Bytes of response headers read before the answer is refused (default 16 KiB, Node's own).
   * The parser stops at the limit (scripts/patchUndici.mjs), so a receiver answering with
   * 10,000 headers costs about what a normal answer costs, and only its own attempt fails.
   */
  maxResponseHeaderBytes?: number;
}

export interface HttpSender {
  /** POST `request.body` to `request.url`; never rejects. */
  send(request: OutboundRequest): Promise<SendResult>;
  /** Drop the pool held for an endpoint's TLS settings (after its update or deletion). */
  forgetEndpoint(endpointId: string): void;
  /** Close every pool; in-flight requests finish first (each bounded by its deadline). */
  close(): Promise<void>;
}

const DEFAULT_MAX_BODY_BYTES = 4096;
const DEFAULT_MAX_HEADER_BYTES = 16 * 1024;
/** Response headers kept in the attempt record; a receiver's extra ones are dropped. */
export const MAX_RECORDED_RESPONSE_HEADERS = 100;
// Past the cap, up to this much more is read and discarded so the connection can be reused;
// beyond it the answer is returned at once and the connection cut, so an endless body costs
// at most this much.
const DRAIN_LIMIT_BYTES = 64 * 1024;
const URL_CACHE_LIMIT = 10_000;
const BLOCKED_CODE = 'ERR_WEBHOOK_BLOCKED_ADDRESS';
const DEADLINE_CODE = 'ERR_WEBHOOK_DEADLINE';
const MIN_TLS = 'TLSv1.2';

class CodedError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const deadlineError = new CodedError(DEADLINE_CODE, 'deadline exceeded');
const overflowError = new CodedError('ERR_WEBHOOK_BODY_OVERFLOW', 'response body larger than the drain limit');

interface Target {
  origin: string;
  path: string;
  /** host[:port] for messages; never the path or query, which may carry tokens. */
  display: string;
  failure: { errorClass: SendErrorClass; errorMessage: string } | null;
}

interface EndpointPool {
  cert: string | undefined;
  key: string | undefined;
  ca: string | undefined;
  agent: Agent | null;
  /** Set when the TLS material itself is unusable; sends fail fast with it. */
  problem: string | null;
}

/** Build the sender; one per process, its pools shared by every delivery. */
export function createHttpSender(options: HttpSenderOptions): HttpSender {
  const policy = createAddressPolicy(options.allowedCidrs);
  const maxBodyBytes = options.maxResponseBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const userAgent = options.userAgent;
  const lookup = createGuardedLookup(policy);
  const newAgent = (secureContext: tls.SecureContext): Agent =>
    new Agent({
      connections: options.connectionsPerOrigin ?? null,
      maxHeaderSize: options.maxResponseHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES,
      connect: rememberTlsFailures(buildConnector({ lookup, secureContext, minVersion: MIN_TLS })),
    });
  // One context for all public-CA endpoints: parsing the root store per connection is costly.
  const shared = newAgent(tls.createSecureContext({ minVersion: MIN_TLS }));
  const endpointPools = new Map<string, EndpointPool>();
  const retiring = new Set<Promise<void>>();
  const targets = new Map<string, Target>();
  let closed = false;

  const retire = (agent: Agent | null): void => {
    if (agent === null) return;
    const done = agent.close().catch(() => undefined).then(() => {
      retiring.delete(done);
    });
    retiring.add(done);
  };

  const targetFor = (url: string): Target => {
    let target = targets.get(url);
    if (target === undefined) {
      if (targets.size >= URL_CACHE_LIMIT) targets.clear();
      target = parseTarget(url, policy);
      targets.set(url, target);
    }
    return target;
  };

  const poolFor = (request: OutboundRequest): EndpointPool | null => {
    const t = request.tls;
    if (!t || (!t.clientCertificatePem && !t.clientKeyPem && !t.caCertificatePem)) return null;
    let pool = endpointPools.get(request.endpointId);
    // Changed TLS material (rotation) must not keep using connections made with the old one.
    if (pool && (pool.cert !== t.clientCertificatePem || pool.key !== t.clientKeyPem || pool.ca !== t.caCertificatePem)) {
      retire(pool.agent);
      pool = undefined;
    }
    if (pool === undefined) {
      pool = createEndpointPool(t, newAgent);
      endpointPools.set(request.endpointId, pool);
    }
    return pool;
  };

  return {
    send(request) {
      const startedAt = performance.now();
      if (closed) return Promise.resolve(failure('CONNECTION', 'the HTTP sender is closed', startedAt));
      const target = targetFor(request.url);
      if (target.failure !== null) return Promise.resolve(failure(target.failure.errorClass, target.failure.errorMessage, startedAt));
      let dispatcher: Dispatcher = shared;
      const pool = poolFor(request);
      if (pool !== null) {
        if (pool.agent === null) return Promise.resolve(failure('TLS', pool.problem ?? 'unusable TLS settings', startedAt));
        dispatcher = pool.agent;
      }
      const timeoutMs = Math.max(1, request.timeoutMs);
      return new Promise<SendResult>((resolve) => {
        const exchange = new Exchange(resolve, startedAt, timeoutMs, maxBodyBytes, target.display);
        dispatcher.dispatch(
          {
            origin: target.origin,
            path: target.path,
            method: 'POST',
            headers: flatHeaders(request.headers, userAgent),
            body: request.body,
            headersTimeout: timeoutMs,
            bodyTimeout: timeoutMs,
          },
          exchange,
        );
      });
    },

    forgetEndpoint(endpointId) {
      const pool = endpointPools.get(endpointId);
      if (pool === undefined) return;
      endpointPools.delete(endpointId);
      retire(pool.agent);
    },

    async close() {
      closed = true;
      for (const pool of endpointPools.values()) retire(pool.agent);
      endpointPools.clear();
      await Promise.all([shared.close(), ...retiring]);
    },
  };
}

function createEndpointPool(t: OutboundTls, newAgent: (context: tls.SecureContext) => Agent): EndpointPool {
  const pool: EndpointPool = { cert: t.clientCertificatePem, key: t.clientKeyPem, ca: t.caCertificatePem, agent: null, problem: null };
  if (!t.clientCertificatePem !== !t.clientKeyPem) {
    pool.problem = 'invalid mTLS settings: the client certificate and its private key must be given together';
    return pool;
  }
  try {
    // Built once so the PEMs are parsed once per endpoint, not on every new connection.
    const context = tls.createSecureContext({
      minVersion: MIN_TLS,
      cert: t.clientCertificatePem || undefined,
      key: t.clientKeyPem || undefined,
      ca: t.caCertificatePem || undefined,
    });
    pool.agent = newAgent(context);
  } catch (err) {
    pool.problem = `invalid TLS settings (client certificate, key or CA): ${opensslReason(err)}`;
  }
  return pool;
}

function parseTarget(url: string, policy: AddressPolicy): Target {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { origin: '', path: '', display: '', failure: { errorClass: 'CONNECTION', errorMessage: 'the endpoint URL is not a valid URL' } };
  }
  const display = parsed.host;
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return { origin: '', path: '', display, failure: { errorClass: 'CONNECTION', errorMessage: `unsupported URL scheme ${parsed.protocol}` } };
  }
  // WHATWG URL has already rewritten 2130706433, 0x7f.1, 0177.0.0.1 ... to dotted decimal, and
  // net.isIP is the very test Node uses to skip `lookup`, so every literal it skips is judged here.
  const hostname = parsed.hostname.startsWith('[') ? parsed.hostname.slice(1, -1) : parsed.hostname;
  let failure: Target['failure'] = null;
  if (net.isIP(hostname) !== 0) {
    const decision = policy(hostname);
    if (!decision.allowed) {
      failure = { errorClass: 'BLOCKED_ADDRESS', errorMessage: blockedMessage(hostname, hostname, decision.reason ?? 'invalid') };
    }
  }
  return { origin: parsed.origin, path: `${parsed.pathname}${parsed.search}`, display, failure };
}

function blockedMessage(host: string, address: string, reason: BlockReason): string {
  const resolved = host === address ? address : `${host} (resolved to ${address})`;
  const single = address.includes(':') ? `${address}/128` : `${address}/32`;
  return `refused to connect to ${resolved}: ${describeBlockReason(reason)}; webhooks only go to public addresses unless the address is inside WEBHOOKS_ALLOWED_CIDRS (e.g. add ${single})`;
}

// Node calls this for hostnames only; every address it may connect to must pass the policy,
// because with autoSelectFamily Node tries several of them.
function createGuardedLookup(policy: AddressPolicy): net.LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) {
        callback(err, '');
        return;
      }
      for (const entry of addresses) {
        const decision = policy(entry.address);
        if (!decision.allowed) {
          callback(new CodedError(BLOCKED_CODE, blockedMessage(hostname, entry.address, decision.reason ?? 'invalid')), '');
          return;
        }
      }
      const first = addresses[0];
      if (first === undefined) {
        callback(Object.assign(new Error(`no addresses for ${hostname}`), { code: 'ENOTFOUND' }), '');
      } else if (options.all) {
        callback(null, addresses);
      } else {
        callback(null, first.address, first.family);
      }
    });
  };
}

/**
 * In TLS 1.3 a server rejects a client certificate only after our handshake has completed: its
 * alert arrives as a socket error, immediately followed by the peer closing, and undici reports
 * the close ("other side closed"), dropping the alert. Hang the alert on later errors as `cause`
 * so the failure is classified as TLS, as it is under TLS 1.2.
 */
function rememberTlsFailures(connect: buildConnector.connector): buildConnector.connector {
  return (connectOptions, callback) => {
    connect(connectOptions, (err, socket) => {
      if (socket && 'encrypted' in socket) {
        let tlsFailure: Error | null = null;
        socket.prependListener('error', (error: Error & { cause?: unknown }) => {
          if (tlsFailure === null) {
            if (isTlsError(error, errorCode(error))) tlsFailure = error;
          } else if (error !== tlsFailure && error.cause === undefined) {
            error.cause = tlsFailure;
          }
        });
      }
      if (err !== null) callback(err, null);
      else callback(null, socket as net.Socket);
    });
  };
}

// A flat [name, value, ...] list is the cheapest header shape undici accepts.
function flatHeaders(headers: Record<string, string>, userAgent: string): string[] {
  const out: string[] = [];
  let hasUserAgent = false;
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (value === undefined) continue;
    if (!hasUserAgent && name.length === 10 && name.toLowerCase() === 'user-agent') hasUserAgent = true;
    out.push(name, value);
  }
  if (!hasUserAgent) out.push('user-agent', userAgent);
  return out;
}

function failure(errorClass: SendErrorClass, errorMessage: string, startedAt: number): SendResult {
  return { ok: false, errorClass, errorMessage, durationMs: performance.now() - startedAt };
}

function expire(exchange: Exchange): void {
  exchange.expire();
}

function deferSuccess(exchange: Exchange): void {
  setImmediate(succeedLater, exchange);
}

function succeedLater(exchange: Exchange): void {
  exchange.succeed();
}

/** One request's undici handler: collects the capped response and owns the total deadline. */
class Exchange implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | null = null;
  private settled = false;
  private expired = false;
  /** The kept part of the body is complete; the rest is read and thrown away. */
  private draining = false;
  private status = 0;
  private headers: IncomingHttpHeaders | null = null;
  private chunks: Buffer[] = [];
  private kept = 0;
  private discarded = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly resolve: (result: SendResult) => void,
    private readonly startedAt: number,
    private readonly timeoutMs: number,
    private readonly maxBodyBytes: number,
    private readonly display: string,
  ) {
    this.timer = setTimeout(expire, timeoutMs, this);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    // The deadline passed while queued or connecting; undici offers no abort before this point.
    if (this.expired) controller.abort(deadlineError);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    if (statusCode < 200) return; // 1xx interim responses are not the answer
    this.status = statusCode;
    this.headers = headers;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.draining) {
      this.discard(controller, chunk.length);
      return;
    }
    const room = this.maxBodyBytes - this.kept;
    if (chunk.length <= room) {
      this.chunks.push(chunk);
      this.kept += chunk.length;
      return;
    }
    if (room > 0) this.chunks.push(chunk.subarray(0, room));
    this.kept = this.maxBodyBytes;
    this.draining = true;
    this.discard(controller, chunk.length - room);
  }

  onResponseEnd(): void {
    clearTimeout(this.timer);
    if (this.settled) return;
    this.settled = true;
    // undici frees a keep-alive socket in a setImmediate queued right after this callback
    // returns; a caller that sends again as soon as we resolve would find every socket still
    // busy and open a new one. nextTick -> setImmediate lands just behind undici's immediate.
    process.nextTick(deferSuccess, this);
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    clearTimeout(this.timer);
    if (this.settled) return;
    this.settled = true;
    // Once the kept part of the body is in, a failure in the discarded rest changes nothing.
    if (this.draining) {
      this.succeed();
      return;
    }
    const { errorClass, errorMessage } = classifyError(error, this.display);
    this.resolve(failure(errorClass, errorMessage, this.startedAt));
  }

  expire(): void {
    this.expired = true;
    if (!this.settled) {
      this.settled = true;
      if (this.draining) this.succeed();
      else this.resolve(failure('TIMEOUT', this.timeoutMessage(), this.startedAt));
    }
    if (this.controller !== null && !this.controller.aborted) this.controller.abort(deadlineError);
  }

  /** Resolve with the response collected so far (called once `settled` is set). */
  succeed(): void {
    const body = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.kept);
    this.chunks = [];
    this.resolve({
      ok: true,
      status: this.status,
      headers: flattenHeaders(this.headers),
      body: decodeUtf8Prefix(body, this.draining),
      durationMs: performance.now() - this.startedAt,
    });
  }

  // Reading a little past the cap keeps the connection reusable; an endless or huge body is cut.
  private discard(controller: Dispatcher.DispatchController, bytes: number): void {
    this.discarded += bytes;
    if (this.discarded <= DRAIN_LIMIT_BYTES) return;
    if (!this.settled) {
      this.settled = true;
      clearTimeout(this.timer);
      this.succeed();
    }
    if (!controller.aborted) controller.abort(overflowError);
  }

  private timeoutMessage(): string {
    const phase =
      this.controller === null
        ? 'while connecting (DNS, TCP or TLS)'
        : this.status === 0
          ? 'waiting for the response headers'
          : `reading the body of a ${this.status} response`;
    return `no complete response from ${this.display} within ${this.timeoutMs} ms (timed out ${phase})`;
  }
}

// undici hands over a fresh object per response, so it is normalized in place; past
// MAX_RECORDED_RESPONSE_HEADERS names (within the byte limit, short headers can still number
// thousands) the rest is dropped from the record.
function flattenHeaders(headers: IncomingHttpHeaders | null): Record<string, string> {
  if (headers === null) return {};
  let kept = 0;
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (value === undefined || kept >= MAX_RECORDED_RESPONSE_HEADERS) delete headers[name];
    else {
      kept++;
      if (Array.isArray(value)) headers[name] = value.join(', ');
    }
  }
  return headers as Record<string, string>;
}

// A cap can split a multi-byte character; dropping the partial one avoids a trailing U+FFFD.
function decodeUtf8Prefix(body: Buffer, truncated: boolean): string {
  let end = body.length;
  if (truncated && end > 0) {
    let lead = end - 1;
    while (lead > 0 && end - lead < 4 && ((body[lead] ?? 0) & 0xc0) === 0x80) lead--;
    const first = body[lead] ?? 0;
    const length = first >= 0xf0 ? 4 : first >= 0xe0 ? 3 : first >= 0xc0 ? 2 : 1;
    if (lead + length > end) end = lead;
  }
  return body.toString('utf8', 0, end);
}

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NODATA', 'EAI_NONAME', 'ENODATA']);
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT', DEADLINE_CODE]);
const CERT_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID',
  'CERT_REVOKED', 'CERT_UNTRUSTED', 'CERT_REJECTED', 'CERT_SIGNATURE_FAILURE', 'INVALID_CA', 'INVALID_PURPOSE',
  'HOSTNAME_MISMATCH', 'CERT_CHAIN_TOO_LONG', 'PATH_LENGTH_EXCEEDED',
]);

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

function isTlsError(error: unknown, code: string): boolean {
  return (
    code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_') || code.startsWith('ERR_OSSL_') ||
    code === 'EPROTO' || CERT_CODES.has(code) || (error as { library?: unknown }).library === 'SSL routines'
  );
}

function opensslReason(error: unknown): string {
  const reason = (error as { reason?: unknown }).reason;
  if (typeof reason === 'string' && reason !== '') return reason;
  return error instanceof Error ? error.message : String(error);
}

/** Map a transport error to the SPEC §6 classes with a message fit for an attempt record. */
function classifyError(error: Error, display: string): { errorClass: SendErrorClass; errorMessage: string } {
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
