/**
 * The only outbound HTTP of the service (SPEC §6), on undici: keep-alive pools, one total
 * deadline per request, redirects never followed, TLS >= 1.2, optional mTLS / custom CA, a capped
 * response body, and the private-address guard applied to the address actually connected to.
 *
 * Hot path notes: IP-literal hosts are judged once per URL (cached) because Node skips `lookup`
 * for them; hostnames are judged in the connect-time `lookup`, i.e. once per new connection;
 * each request allocates one handler object, one timer and its promise.
 */
import net from 'node:net';
import tls from 'node:tls';
import { Agent, buildConnector, type Dispatcher } from 'undici';
import { createAddressPolicy, type AddressPolicy } from '../domain/addressGuard.js';
import type { Cidr } from '../domain/cidrList.js';
import { blockedMessage, createGuardedLookup } from './guardedLookup.js';
import { Exchange } from './httpExchange.js';
import { errorCode, isTlsError, opensslReason, type SendErrorClass } from './sendErrors.js';
import { failure, type SendResult } from './sendResult.js';

export type { SendErrorClass } from './sendErrors.js';
export type { SendResult } from './sendResult.js';
export { MAX_RECORDED_RESPONSE_HEADERS } from './httpExchange.js';

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
const URL_CACHE_LIMIT = 10_000;
const MIN_TLS = 'TLSv1.2';

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
