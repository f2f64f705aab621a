import type { Plugin } from 'graphql-yoga';
import { DomainError } from '../domain/errors.js';
import { requestError } from './errors.js';
import { DEFAULT_MAX_BATCH_BYTES, MAX_BATCH } from '../engine/publishBatch.js';

export interface RequestBodyLimits {
  /** Callers with a working API key: the largest legal request, a full publishEvents batch. */
  authenticated: number;
  /** Callers without one: enough for any query or the console's introspection, no more. */
  anonymous: number;
}

/** Room per event besides its payload: type, eventId and orderingKey (255 characters each, escaped), field names. */
const ENVELOPE_BYTES_PER_EVENT = 4 * 1024;
/** The document itself (bounded by the token limit) and the rest of the request. */
const DOCUMENT_BYTES = 1024 * 1024;
const ANONYMOUS_BODY_BYTES = 64 * 1024;

/**
 * Body limits sized from the largest legal request: a publishEvents batch of MAX_BATCH events
 * whose payloads add up to `maxBatchBytes` (WEBHOOKS_MAX_BATCH_BYTES), plus their envelopes and
 * the document. Default: 16 MiB + 4 MiB + 1 MiB = 21 MiB (it was a flat 64 MiB for anyone).
 */
export function requestBodyLimits(maxBatchBytes: number = DEFAULT_MAX_BATCH_BYTES): RequestBodyLimits {
  return { authenticated: maxBatchBytes + MAX_BATCH * ENVELOPE_BYTES_PER_EVENT + DOCUMENT_BYTES, anonymous: ANONYMOUS_BODY_BYTES };
}

/**
 * The request-body limit of /graphql, answered as the API's own PAYLOAD_TOO_LARGE (413). An
 * announced length is refused before reading (server/graphql/server.ts does that even before
 * yoga); a streamed (chunked) body is counted while yoga's parser reads it and cut at the limit.
 * It replaces yoga's built-in limit, whose `REQUEST_ENTITY_TOO_LARGE` code is not in the API's
 * error contract and whose 25 MB default was below ours (found by test/faults/hostileInput.test.ts).
 */
export function createBodyLimitPlugin(limitFor: (serverContext: unknown) => number): Plugin {
  const tooLarge = (limit: number) =>
    requestError(new DomainError('PAYLOAD_TOO_LARGE', `The request body is over the limit of ${limit} bytes; send less per request (publishEvents takes at most 1,000 events).`));
  return {
    onRequestParse({ request, requestParser, setRequestParser, fetchAPI, serverContext }) {
      const limit = limitFor(serverContext);
      const length = request.headers.get('content-length');
      if (length !== null && Number(length) > limit) throw tooLarge(limit);
      if (!requestParser || !request.body) return;
      const parse = requestParser;
      setRequestParser((req) => {
        const body = req.body;
        if (!body) return parse(req);
        // A native stream needs the native TransformStream (see graphql-yoga issue #4583).
        const Transform = body instanceof ReadableStream ? globalThis.TransformStream : fetchAPI.TransformStream;
        let bytes = 0;
        const counted = body.pipeThrough(
          new Transform({
            transform(chunk: Uint8Array, controller: TransformStreamDefaultController<Uint8Array>) {
              bytes += chunk.byteLength;
              if (bytes > limit) controller.error(tooLarge(limit));
              else controller.enqueue(chunk);
            },
          }),
        );
        return parse(new fetchAPI.Request(req.url, { method: req.method, headers: req.headers, signal: req.signal, body: counted, duplex: 'half' } as RequestInit));
      });
    },
  };
}
