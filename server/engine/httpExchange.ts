/** The undici side of one request: its response, capped, and its total deadline. */
import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import { classifyError, CodedError, DEADLINE_CODE } from './sendErrors.js';
import { failure, type SendResult } from './sendResult.js';

/** Response headers kept in the attempt record; a receiver's extra ones are dropped. */
export const MAX_RECORDED_RESPONSE_HEADERS = 100;
// Past the cap, up to this much more is read and discarded so the connection can be reused;
// beyond it the answer is returned at once and the connection cut, so an endless body costs
// at most this much.
const DRAIN_LIMIT_BYTES = 64 * 1024;

const deadlineError = new CodedError(DEADLINE_CODE, 'deadline exceeded');
const overflowError = new CodedError('ERR_WEBHOOK_BODY_OVERFLOW', 'response body larger than the drain limit');

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
export class Exchange implements Dispatcher.DispatchHandler {
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
