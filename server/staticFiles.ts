import { createReadStream, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

/**
 * Serves the built console. Hashed assets are cached for a year; every other path falls back
 * to index.html so client-side routes survive a reload.
 */
export function createStaticHandler(rootDir: string) {
  const root = path.resolve(rootDir);
  const index = path.join(root, 'index.html');

  return function serve(req: IncomingMessage, res: ServerResponse, urlPath: string): void {
    if (!existsSync(index)) {
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('The console is not built yet: run `npm run build` (npm install does it for you).');
      return;
    }
    let file = path.resolve(root, '.' + decodeURIComponent(urlPath));
    if (!file.startsWith(root + path.sep) || !existsSync(file) || !statSync(file).isFile()) file = index;
    const immutable = file.includes(`${path.sep}assets${path.sep}`);
    res.writeHead(200, {
      'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
      'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      'x-content-type-options': 'nosniff',
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    createReadStream(file).pipe(res);
  };
}
