import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/**
 * The request-body limit of /graphql, answered as the API's own PAYLOAD_TOO_LARGE (413). An
 * announced length is refused before reading (server/graphql/server.ts does that even before
 * yoga); a streamed (chunked) body is counted while yoga's parser reads it and cut at the limit.
 * It replaces yoga's built-in limit, whose `REQUEST_ENTITY_TOO_LARGE` code is not in the API's
 * error contract and whose 25 MB default was below ours (found by test/faults/hostileInput.test.ts).
 */
export function createBodyLimitPlugin(limit: number): Plugin {
  const tooLarge = () =>
    new GraphQLError(`The request body is over the limit of ${limit} bytes; send less per request (publishEvents takes at most 1,000 events).`, {
      extensions: { code: 'PAYLOAD_TOO_LARGE', http: { status: 413 } },
    });
  return {
    onRequestParse({ request, requestParser, setRequestParser, fetchAPI }) {
      const length = request.headers.get('content-length');
      if (length !== null && Number(length) > limit) throw tooLarge();
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
              if (bytes > limit) controller.error(tooLarge());
              else controller.enqueue(chunk);
            },
          }),
        );
        return parse(new fetchAPI.Request(req.url, { method: req.method, headers: req.headers, signal: req.signal, body: counted, duplex: 'half' } as RequestInit));
      });
    },
  };
}
