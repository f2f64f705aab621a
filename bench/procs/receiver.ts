/**
 * The benchmark's webhook receiver, a process of its own: a minimal node:http server on
 * 127.0.0.1 with keep-alive. What it does depends on the path of the endpoint URL:
 * - `/ok/<n>`: 200 with an empty body (a healthy endpoint);
 * - `/hang/<n>`: never answers (the socket stays open until the sender gives up);
 * - `/flaky/<n>`: 500 the first time a `webhook-id` arrives, 200 afterwards.
 * It counts requests and, when asked to, records when each webhook-id first arrived.
 * Signatures are not verified: the integration tests do that; here it would only add CPU.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { nowMs, serve } from '../lib/ipc.js';

const counts = { ok: 0, hang: 0, flakyFailed: 0, flakyOk: 0, other: 0 };
let tracking = false;
let receipts = new Map<string, number>();
const flakySeen = new Set<string>();
const sockets = new Set<Socket>();

const empty = { 'content-length': '0' };

const server = http.createServer({ keepAliveTimeout: 120_000, requestTimeout: 0, headersTimeout: 0 }, (req, res) => {
  const at = tracking ? nowMs() : 0;
  const url = req.url ?? '';
  const id = req.headers['webhook-id'];
  req.resume();
  if (url.startsWith('/ok/')) {
    req.on('end', () => {
      counts.ok++;
      if (tracking && typeof id === 'string' && !receipts.has(id)) receipts.set(id, at);
      res.writeHead(200, empty);
      res.end();
    });
  } else if (url.startsWith('/hang/')) {
    counts.hang++;
  } else if (url.startsWith('/flaky/')) {
    req.on('end', () => {
      const key = `${url}|${String(id)}`;
      if (!flakySeen.has(key)) {
        flakySeen.add(key);
        counts.flakyFailed++;
        res.writeHead(500, empty);
      } else {
        counts.flakyOk++;
        res.writeHead(200, empty);
      }
      res.end();
    });
  } else {
    req.on('end', () => {
      counts.other++;
      res.writeHead(404, empty);
      res.end();
    });
  }
});
server.on('connection', (socket: Socket) => {
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
});

await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const port = (server.address() as AddressInfo).port;

serve({
  info: () => ({ url: `http://127.0.0.1:${port}`, pid: process.pid }),
  counts: () => ({ ...counts, connections: sockets.size }),
  /** Start (or stop) recording first-arrival times per webhook-id; starting clears old ones. */
  track: (on: boolean) => {
    tracking = on;
    if (on) receipts = new Map();
  },
  receipts: () => receipts,
  /** Forget flaky history and receipts (between scenarios). */
  reset: () => {
    flakySeen.clear();
    receipts = new Map();
  },
  /** Drops every open socket (e.g. the ones of hanging requests). */
  dropSockets: () => {
    for (const s of sockets) s.destroy();
  },
});
