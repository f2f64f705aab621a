// Applies the upstream undici fix for response-header overflow (released only in undici 8,
// which needs Node 22.19+): past `maxHeaderSize`, undici 7's HTTP/1 parser destroyed the socket
// but kept parsing the chunk, building a HeadersOverflowError for every further header. A
// receiver answering with 10,000 headers cost ~70-100 ms of CPU per response and, sent in
// parallel, blocked the worker's event loop for seconds (issue 16, row 3). With the fix the
// header callbacks return -1 and llhttp stops at the first header past the limit.
// One addition of ours, not upstream: undici has no limit on the number of response headers
// (Node's own http client stops at 2,000), and each header costs a call out of the wasm parser;
// past MAX_HEADERS (256) headers the answer is refused like an oversized one, so tiny headers
// cannot be used to multiply the parsing work within the byte limit.
// Runs from `postinstall`; idempotent; remove the upstream part when the service moves to undici 8.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const file = 'node_modules/undici/lib/dispatcher/client-h1.js';
const MARK = '/* org-webhooks: stop parsing on header overflow */';

if (existsSync(file)) {
  let text = readFileSync(file, 'utf8');
  if (!text.includes(MARK)) {
    const before = text;
    text = text.replace(
      '  trackHeader (len) {\n    this.headersSize += len\n    if (this.headersSize >= this.headersMaxSize) {\n      util.destroy(this.socket, new HeadersOverflowError())\n    }\n  }',
      `  trackHeader (len) {\n    ${MARK}\n    this.headersSize += len\n    if (this.headersSize >= this.headersMaxSize || this.headers.length > 512 /* 256 headers: org-webhooks' count limit */) {\n      util.destroy(this.socket, new HeadersOverflowError())\n      return -1\n    }\n    return 0\n  }`,
    );
    // onHeaderField and onHeaderValue end with `this.trackHeader(buf.length)` then `return 0`.
    text = text.replaceAll('    this.trackHeader(buf.length)\n\n    return 0\n', '    return this.trackHeader(buf.length)\n');
    if (text === before || text.split('return this.trackHeader(buf.length)').length !== 3) {
      console.warn(`patchUndici: ${file} did not have the expected shape; not patched (undici version changed?)`);
    } else {
      writeFileSync(file, text);
    }
  }
}
