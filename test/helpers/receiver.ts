/**
 * Loopback webhook receiver shared by every integration test: a real HTTP or HTTPS server on
 * 127.0.0.1 (or ::1) that records each request and answers with a scripted response, including
 * misbehaviour (delay, hang, reset, slow or endless bodies). It tracks sockets so `close()`
 * finishes promptly even while requests hang, and counts connections so tests can check reuse.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';

export interface ReceivedRequest {
  method: string;
  /** Path and query string, e.g. `/hooks?x=1`. */
  path: string;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  rawBody: string;
  receivedAtMs: number;
  /** e.g. `CN=webhook-test-client` when the client presented a certificate. */
  clientCertificateSubject?: string;
  /** 1-based number of the TCP connection the request arrived on (equal numbers = reused socket). */
  connectionId: number;
}

export interface ResponseSpec {
  status?: number;
  /** An array value sends the header once per element. */
  headers?: Record<string, string | string[]>;
  body?: string;
  /** Wait this long before sending anything. */
  delayMs?: number;
  /** Never answer (the socket stays open until the client gives up or the receiver closes). */
  hang?: boolean;
  /** Destroy the socket with a TCP RST instead of answering. */
  reset?: boolean;
  /** Send the status line and headers at once, then the body one byte every `slowBodyMs`. */
  slowBodyMs?: number;
  /** Send headers, then stream filler bytes as fast as the client reads, forever. */
  endlessBody?: boolean;
}

export type Responder = (req: ReceivedRequest, index: number) => ResponseSpec | Promise<ResponseSpec>;

export interface ReceiverOptions {
  https?: { key: string; cert: string; ca?: string; requestCert?: boolean } & Record<string, unknown>;
  respond?: Responder;
  /** Loopback address to listen on; `::1` gives an `http://[::1]:PORT` url. */
  host?: '127.0.0.1' | '::1';
}

export interface Receiver {
  /** `http://127.0.0.1:PORT` (https when TLS options were given), no trailing slash. */
  url: string;
  port: number;
  requests: ReceivedRequest[];
  /** TCP connections accepted so far, whether or not they carried a request (or finished a TLS handshake). */
  readonly connectionCount: number;
  /** Resolves once `count` requests have arrived; rejects after `timeoutMs` (default 5,000). */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedRequest[]>;
  setResponder(fn: Responder): void;
  /** Resolves when the socket of an `endlessBody` response has been closed by the client. */
  whenStreamClosed(): Promise<void>;
  close(): Promise<void>;
}

const DEFAULT_RESPONDER: Responder = () => ({ status: 200, body: '' });
const FILLER = Buffer.alloc(16 * 1024, 'x');

/** Start a receiver on an ephemeral loopback port. */
export async function startReceiver(options: ReceiverOptions = {}): Promise<Receiver> {
  let responder = options.respond ?? DEFAULT_RESPONDER;
  const requests: ReceivedRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const connectionIds = new WeakMap<Socket, number>();
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  const streamClosedWaiters: Array<() => void> = [];
  let connectionCount = 0;
  let closed = false;

  const later = (ms: number, fn: () => void): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };

  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const received = describe(req, Buffer.concat(chunks).toString('utf8'), connectionIds.get(req.socket) ?? 0);
      const index = requests.length;
      requests.push(received);
      for (const waiter of waiters.splice(0)) {
        if (requests.length >= waiter.count) waiter.resolve();
        else waiters.push(waiter);
      }
      // A responder that throws answers 500 rather than crashing the test process.
      new Promise<ResponseSpec>((resolve) => resolve(responder(received, index))).then(
        (spec) => {
          if (spec.delayMs) later(spec.delayMs, () => answer(req, res, spec));
          else answer(req, res, spec);
        },
        (err: unknown) => {
          res.statusCode = 500;
          res.end(`responder failed: ${String(err)}`);
        },
      );
    });
  };

  const answer = (req: http.IncomingMessage, res: http.ServerResponse, spec: ResponseSpec): void => {
    if (closed || res.destroyed) return;
    if (spec.hang) return;
    if (spec.reset) {
      req.socket.resetAndDestroy();
      return;
    }
    const body = Buffer.from(spec.body ?? '', 'utf8');
    res.statusCode = spec.status ?? 200;
    for (const [name, value] of Object.entries(spec.headers ?? {})) res.setHeader(name, value);
    if (spec.endlessBody) {
      res.flushHeaders();
      req.socket.once('close', () => streamClosedWaiters.splice(0).forEach((notify) => notify()));
      const pump = (): void => {
        while (!res.destroyed && res.write(FILLER)) {
          // keep writing until the socket applies backpressure
        }
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
      return;
    }
    if (spec.slowBodyMs !== undefined) {
      res.setHeader('content-length', body.length);
      res.flushHeaders();
      let sent = 0;
      const drip = (): void => {
        if (res.destroyed) return;
        if (sent >= body.length) {
          res.end();
          return;
        }
        res.write(body.subarray(sent, sent + 1));
        sent++;
        later(spec.slowBodyMs ?? 0, drip);
      };
      later(spec.slowBodyMs, drip);
      return;
    }
    res.setHeader('content-length', body.length);
    res.end(body);
  };

  const server = options.https
    ? https.createServer({ rejectUnauthorized: options.https.requestCert ?? false, ...options.https }, handler)
    : http.createServer(handler);
  let secureCount = 0;
  server.on('connection', (socket: Socket) => {
    connectionCount++;
    if (!options.https) connectionIds.set(socket, connectionCount);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  // Requests on HTTPS carry the TLS socket, which only the 'secureConnection' event sees.
  server.on('secureConnection', (socket: Socket) => connectionIds.set(socket, ++secureCount));
  // A client that fails the handshake (e.g. no client certificate) must not crash the test.
  server.on('tlsClientError', () => undefined);

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const hostInUrl = host === '::1' ? '[::1]' : host;

  return {
    url: `${options.https ? 'https' : 'http'}://${hostInUrl}:${port}`,
    port,
    requests,
    get connectionCount() {
      return connectionCount;
    },
    waitFor(count, timeoutMs = 5_000) {
      if (requests.length >= count) return Promise.resolve(requests.slice());
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new Error(`receiver got ${requests.length} of ${count} expected requests within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.push({
          count,
          resolve: () => {
            clearTimeout(timer);
            resolve(requests.slice());
          },
        });
      });
    },
    setResponder(fn) {
      responder = fn;
    },
    whenStreamClosed() {
      return new Promise((resolve) => streamClosedWaiters.push(resolve));
    },
    async close() {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await done;
    },
  };
}

function describe(req: http.IncomingMessage, rawBody: string, connectionId: number): ReceivedRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  const received: ReceivedRequest = {
    method: req.method ?? '',
    path: req.url ?? '',
    headers,
    rawBody,
    receivedAtMs: Date.now(),
    connectionId,
  };
  const socket = req.socket as Partial<TLSSocket>;
  if (typeof socket.getPeerCertificate === 'function') {
    const subject = socket.getPeerCertificate().subject as Record<string, string | string[]> | undefined;
    if (subject && Object.keys(subject).length > 0) {
      received.clientCertificateSubject = Object.entries(subject)
        .map(([key, value]) => `${key}=${Array.isArray(value) ? value.join('+') : value}`)
        .join(', ');
    }
  }
  return received;
}
